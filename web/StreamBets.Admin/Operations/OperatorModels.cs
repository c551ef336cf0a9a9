namespace StreamBets.Admin.Operations;

// The shapes the gateway's operator APIs answer with, as the console reads them (docs/settlement.md, docs/users.md,
// docs/pools.md). Amounts are integer minor units (centavos).

public sealed record Settlement(
    Guid PoolId,
    string Kind,
    string Status,
    int Attempts,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? NextAttemptAt,
    long? BetCount,
    long? TotalMinor,
    long SettledBets,
    string? Basis,
    long? PaidMinor,
    long? RakeMinor,
    long? BreakageMinor,
    long? WinningBets,
    long? RefundedBets,
    long? EscrowResidueMinor);

public sealed record SettlementPage(IReadOnlyList<Settlement> Items, string? NextCursor);

public sealed record PoolChannel(string Provider, string ChannelId)
{
    public override string ToString() => $"{Provider}:{ChannelId}";
}

/// <summary>What the console shows of a pool beside its settlement.</summary>
public sealed record PoolSummary(Guid Id, PoolChannel Channel, string Title, string State, long TotalStakedMinor);

public sealed record KycReview(
    Guid CheckId, Guid UserId, string DisplayName, string Email, string Country, string Provider, string? ProviderResult, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

public sealed record KycCheck(Guid CheckId, string Provider, string ProviderCheckId, string Status, string? Result, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

public sealed record Account(Guid Id, string Email, string DisplayName, string Role, int KycTier, string Country, DateTimeOffset CreatedAt);

public sealed record PoolsSettings(int DefaultRakeBasisPoints, long DefaultMinStakeMinor, long DefaultMaxStakeMinor, bool OneActivePoolPerChannel, int AutoCancelAfterHours);

public sealed record PoolTemplate(string Id, string Title, IReadOnlyList<string> Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor);
