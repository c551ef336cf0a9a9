using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Realtime.Live;

/// <summary>
/// What the hub pushes to clients. Every message belongs to one <see cref="LiveStream"/> and carries that stream's
/// sequence number, so a client can tell what it missed and ask for it with CatchUp.
/// </summary>
public abstract record LiveMessage
{
    [JsonPropertyOrder(-2)]
    public long Sequence { get; init; }

    [JsonPropertyOrder(-1)]
    public string Stream { get; init; } = "";

    /// <summary>The client method that receives it, also the <c>type</c> of a replayed message.</summary>
    [JsonIgnore]
    public abstract string Event { get; }
}

public sealed record OddsChangedMessage(Guid PoolId, long TotalStakedMinor, IReadOnlyList<OutcomeStakes> Outcomes, DateTimeOffset AsOf) : LiveMessage
{
    public override string Event => "OddsChanged";

    public static OddsChangedMessage From(OddsChanged odds) => new(odds.PoolId, odds.TotalStakedMinor, odds.Outcomes, odds.AsOf);
}

/// <param name="State">"open", "locked", "resolved" or "cancelled".</param>
/// <param name="LocksAt">When an open pool stops taking bets; null for the other states.</param>
/// <param name="Reason">Why a pool was cancelled; null for the other states.</param>
public sealed record PoolStateChangedMessage(
    Guid PoolId, string State, IReadOnlyList<Guid> WinningOutcomeIds, DateTimeOffset At, DateTimeOffset? LocksAt = null, string? Reason = null) : LiveMessage
{
    public override string Event => "PoolStateChanged";
}

/// <summary>Every payout and refund of the pool is in the wallets: its results are final.</summary>
public sealed record PoolSettledMessage(Guid PoolId, DateTimeOffset SettledAt) : LiveMessage
{
    public override string Event => "PoolSettled";
}

public sealed record PoolCreatedMessage(Guid PoolId, string Channel, string Title, Guid StreamerId, IReadOnlyList<PoolOutcome> Outcomes, DateTimeOffset At) : LiveMessage
{
    public override string Event => "PoolCreated";
}

/// <param name="Result">"won", "lost" or "refunded".</param>
public sealed record BetSettledMessage(Guid BetId, Guid PoolId, string Result, long StakeMinor, long PayoutMinor, DateTimeOffset SettledAt) : LiveMessage
{
    public override string Event => "BetSettled";
}

public sealed record WalletChangedMessage(long BalanceMinor, long DeltaMinor, string Reason, DateTimeOffset OccurredAt, Guid TransferId) : LiveMessage
{
    public override string Event => "WalletChanged";
}

public sealed record ChatMessage(string Id, string Channel, Guid UserId, string DisplayName, string Text, DateTimeOffset SentAt) : LiveMessage
{
    public override string Event => "ChatMessage";
}

public sealed record ChatMessageDeleted(string Channel, string Id) : LiveMessage
{
    public override string Event => "ChatMessageDeleted";
}

/// <summary>One message returned by CatchUp: <paramref name="Type"/> is the client event name, <paramref name="Payload"/> what it delivered live.</summary>
public sealed record ReplayedMessage(string Type, JsonObject Payload);
