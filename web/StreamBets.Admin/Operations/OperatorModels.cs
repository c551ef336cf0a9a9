using System.Text.Json;

namespace StreamBets.Admin.Operations;

// The shapes the gateway's operator APIs answer with, as the console reads them (docs/settlement.md, docs/users.md,
// docs/pools.md). Amounts are integer minor units (centavos).

/// <summary>What the console shows of a settlement (the service's view has more: docs/settlement.md).</summary>
public sealed record Settlement(
    Guid PoolId, string Kind, string Status, int Attempts, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt,
    long? BetCount, long SettledBets, long? PaidMinor, long? RakeMinor, long? BreakageMinor, long? EscrowResidueMinor);

public sealed record SettlementPage(IReadOnlyList<Settlement> Items, string? NextCursor);

public sealed record PoolChannel(string Provider, string ChannelId)
{
    public override string ToString() => $"{Provider}:{ChannelId}";
}

/// <summary>A channel's link; <see cref="PreviousOwnerId"/> only in the answer to a link that moved it from that account.</summary>
public sealed record ChannelLink(PoolChannel Channel, Guid OwnerId, Guid LinkedBy, DateTimeOffset LinkedAt, Guid? PreviousOwnerId = null);

public sealed record PoolOutcome(Guid Id, string Label, long StakedMinor, int BetCount);

/// <summary>What the console shows of a pool: live, beside its settlement, or beside a bet on it.</summary>
public sealed record PoolSummary(
    Guid Id, PoolChannel Channel, Guid CreatedBy, string Title, string State, bool BettingOpen, long TotalStakedMinor, DateTimeOffset? LocksAt,
    IReadOnlyList<PoolOutcome> Outcomes)
{
    public int BetCount => Outcomes.Sum(o => o.BetCount);

    public string OutcomeLabel(Guid outcomeId) => Outcomes.FirstOrDefault(o => o.Id == outcomeId)?.Label ?? outcomeId.ToString();
}

public sealed record KycReview(
    Guid CheckId, Guid UserId, string DisplayName, string Email, string Country, string Provider, string? ProviderResult, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

public sealed record KycReviewPage(IReadOnlyList<KycReview> Items, string? NextCursor);

public sealed record KycCheck(Guid CheckId, string Provider, string ProviderCheckId, string Status, string? Result, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

public sealed record Account(Guid Id, string Email, string DisplayName, string Role, int KycTier, string Country, DateTimeOffset CreatedAt);

public sealed record WalletBalance(Guid UserId, long BalanceMinor);

public sealed record WalletLine(Guid TransferId, string Reason, string? Reference, long AmountMinor, long BalanceAfterMinor, DateTimeOffset CreatedAt, Guid? PoolId);

public sealed record WalletHistoryPage(IReadOnlyList<WalletLine> Items, string? NextCursor);

public sealed record Bet(
    Guid BetId, Guid PoolId, Guid OutcomeId, long StakeMinor, string Status, DateTimeOffset PlacedAt,
    string? RejectionCode, string? SettledResult, long? PayoutMinor, DateTimeOffset? SettledAt);

public sealed record BetPage(IReadOnlyList<Bet> Items, string? NextCursor);

/// <summary>
/// The pool defaults; a save sends back the <see cref="Version"/> they were read at (docs/pools.md). A read answers
/// <see cref="StoredConfigInvalid"/> when the stored document is broken (<see cref="StoredConfigProblems"/>, field to
/// messages, <c>$</c> for the whole document, say how): the values are then the ones Pools runs on, and a save at that
/// version replaces the document.
/// </summary>
public sealed record PoolsSettings(
    int DefaultRakeBasisPoints, long DefaultMinStakeMinor, long DefaultMaxStakeMinor, bool OneActivePoolPerChannel, int AutoCancelAfterHours, string? Version = null,
    bool StoredConfigInvalid = false, IReadOnlyDictionary<string, string[]>? StoredConfigProblems = null);

public sealed record AdminChange(long Id, DateTimeOffset ChangedAt, Guid AdminId, string AdminName, string Action, string Subject, JsonElement Details)
{
    /// <summary>The pool an admin resolved (the change's subject), whose outcomes name the winners; null for any other change.</summary>
    public Guid? ResolvedPoolId => Action == "pool-resolved" && Guid.TryParse(Subject, out var poolId) ? poolId : null;

    /// <summary>
    /// The new values as one line ("outcomes: Blue, Red · maxStakeMinor: R$100.00"); amounts, stored in centavos
    /// (fields named …Minor), are written in reais like every amount the console shows. A resolve records its winners
    /// by outcome id: they are named by their labels in <paramref name="resolvedPool"/>, or, when Pools could not show
    /// the pool, left as ids with a note saying why.
    /// </summary>
    public string DetailsText(PoolSummary? resolvedPool = null) => Details.ValueKind == JsonValueKind.Object
        ? string.Join(" · ", Details.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null)
            .Select(p => p.Name == "winningOutcomeIds" ? WinnersText(p.Value, resolvedPool) : $"{p.Name}: {Text(p)}"))
        : "";

    private static string WinnersText(JsonElement outcomeIds, PoolSummary? pool)
    {
        if (pool is null || outcomeIds.ValueKind != JsonValueKind.Array)
        {
            return $"winningOutcomeIds: {Text(outcomeIds)} (the pool could not be read, so its outcomes are shown by id)";
        }
        var labels = outcomeIds.EnumerateArray()
            .Select(id => id.ValueKind == JsonValueKind.String && id.TryGetGuid(out var outcomeId) ? pool.OutcomeLabel(outcomeId) : Text(id))
            .ToList();
        return $"{(labels.Count == 1 ? "winner" : "winners")}: {string.Join(", ", labels)}";
    }

    private static string Text(JsonProperty field) =>
        field.Name.EndsWith("Minor", StringComparison.Ordinal) && field.Value.ValueKind == JsonValueKind.Number && field.Value.TryGetInt64(out var minor) ? Display.Amount(minor) : Text(field.Value);

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(Text)),
        _ => value.GetRawText(),
    };
}

public sealed record AdminChangePage(IReadOnlyList<AdminChange> Items, string? NextCursor);

/// <summary>A template; an edit sends back the <see cref="Version"/> it was read at, a new one none.</summary>
public sealed record PoolTemplate(
    string Id, string Title, IReadOnlyList<string> Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor, string? Version = null);
