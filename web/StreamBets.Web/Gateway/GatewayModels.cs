namespace StreamBets.Web.Gateway;

// The shapes the gateway's REST APIs answer with, as this app reads them (docs/users.md, docs/bets.md, the Pools API).
// Amounts are integer minor units (centavos) everywhere.

public sealed record RegistrationRequest(string Email, string Password, string DisplayName, string DateOfBirth, string Country, string? Cpf, bool MarketingOptIn);

public sealed record Profile(Guid Id, string Email, string DisplayName, string? AvatarUrl, string Role, int KycTier, string Country, DateOnly DateOfBirth, bool MarketingOptIn);

/// <summary>A password change's answer: how many of the player's other sessions it signed out.</summary>
public sealed record PasswordChange(int EndedSessions);

public sealed record WalletBalance(Guid UserId, long BalanceMinor);

public sealed record WalletHistoryItem(Guid TransferId, string Reason, string? Reference, long AmountMinor, long BalanceAfterMinor, DateTimeOffset CreatedAt, Guid? PoolId);

public sealed record WalletHistoryPage(IReadOnlyList<WalletHistoryItem> Items, string? NextCursor);

/// <summary>A sandbox deposit's or withdrawal's answer: <paramref name="AmountMinor"/> is what moved, positive either way.</summary>
public sealed record SandboxTransfer(Guid TransferId, Guid UserId, long AmountMinor, long BalanceMinor, DateTimeOffset CreatedAt);

/// <summary>The player's identity check; <paramref name="DecisionNote"/> is an operator's reason, given with every rejection in review.</summary>
public sealed record KycCheck(Guid CheckId, string Provider, string Status, string? Result, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, string? DecisionNote);

public sealed record KycStatus(int Tier, string? DocumentType, bool MayBetAndDeposit, bool MayWithdraw, KycCheck? LatestCheck);

public sealed record LimitValue(long? Current, long? Pending, DateTimeOffset? PendingEffectiveAt);

public sealed record SelfExclusionStatus(string Period, DateTimeOffset StartedAt, DateTimeOffset? EndsAt, bool Active);

public sealed record Limits(LimitValue Deposit24hMinor, LimitValue Deposit7dMinor, LimitValue Deposit30dMinor, LimitValue SessionMinutes, SelfExclusionStatus? SelfExclusion);

public sealed record LimitsRequest(long? Deposit24hMinor, long? Deposit7dMinor, long? Deposit30dMinor, long? SessionMinutes);

public sealed record PoolChannel(string Provider, string ChannelId)
{
    /// <summary>"twitch:12826", as the live-pools query, the hub groups and the chat name a channel.</summary>
    public override string ToString() => $"{Provider}:{ChannelId}";
}

public sealed record PoolOutcome(Guid Id, string Label, long StakedMinor, int BetCount, decimal? ReturnPerUnit);

public sealed record Pool(
    Guid Id,
    PoolChannel Channel,
    Guid CreatedBy,
    string Title,
    string State,
    bool BettingOpen,
    IReadOnlyList<PoolOutcome> Outcomes,
    long TotalStakedMinor,
    long MinStakeMinor,
    long MaxStakeMinor,
    int RakeBasisPoints,
    int BettingWindowSeconds,
    DateTimeOffset CreatedAt,
    DateTimeOffset? OpenedAt,
    DateTimeOffset? LocksAt,
    DateTimeOffset? LockedAt,
    DateTimeOffset? ClosedAt,
    IReadOnlyList<Guid> WinningOutcomeIds,
    string? CancellationReason,
    string? Settlement,
    DateTimeOffset? SettledAt,
    int Version)
{
    /// <summary>The pool as paid out at <paramref name="at"/> (a PoolSettled push); a pool already paid keeps its first time, as Pools does.</summary>
    public Pool PaidOutAt(DateTimeOffset at) => SettledAt is null ? this with { Settlement = "settled", SettledAt = at } : this;
}

/// <summary>
/// Settlement's word on paying a finished pool (docs/settlement.md, "States"): <c>due</c>, <c>running</c>, <c>settled</c>,
/// or <c>failed</c>, stopped until an operator fixes the cause and requeues it. The fields this app reads, of many.
/// </summary>
public sealed record PoolSettlement(Guid PoolId, string Kind, string Status)
{
    public bool Stopped => Status == "failed";
}

/// <summary>POST /api/pools: with a <c>TemplateId</c>, the template supplies whatever is left null.</summary>
public sealed record CreatePoolRequest(
    PoolChannel Channel, string? Title, string[]? Outcomes, int? BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor, string? TemplateId = null)
{
    /// <summary>Whether <paramref name="other"/> sends the same body: a record compares its outcomes array by reference.</summary>
    public bool IsSameAs(CreatePoolRequest other) =>
        this with { Outcomes = null } == other with { Outcomes = null }
        && (Outcomes is null ? other.Outcomes is null : other.Outcomes is not null && Outcomes.SequenceEqual(other.Outcomes));
}

/// <summary>A channel linked to the signed-in streamer: one they may open pools on.</summary>
public sealed record ChannelLink(PoolChannel Channel);

/// <summary>A ready-made pool an admin defined; stakes left null take the configuration's.</summary>
public sealed record PoolTemplate(string Id, string Title, IReadOnlyList<string> Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor);

public sealed record LiveChannel(string Channel, string Provider, string ChannelId, int LivePools, int OpenPools, DateTimeOffset? NextLockAt);

/// <summary>A place on a board; the name is null while Pools has not heard it from Users.</summary>
public sealed record LeaderboardEntry(int Rank, Guid UserId, long NetMinor, string? DisplayName);

/// <summary>Where the signed-in player stands: rank null off the board, and their net over its days.</summary>
public sealed record LeaderboardPlace(int? Rank, long NetMinor);

public sealed record Leaderboard(string Scope, string Period, string PeriodKey, DateOnly? From, DateOnly? To, IReadOnlyList<LeaderboardEntry> Entries, LeaderboardPlace? Me);

public sealed record Bet(
    Guid BetId, Guid PoolId, Guid OutcomeId, long StakeMinor, string Status, DateTimeOffset PlacedAt,
    string? RejectionCode, string? SettledResult, long? PayoutMinor, DateTimeOffset? SettledAt);

public sealed record BetPage(IReadOnlyList<Bet> Items, string? NextCursor);
