using StreamBets.Contracts;

namespace StreamBets.Pools.Payouts;

/// <summary>One accepted bet as the payout calculation sees it: the stake already sits in the pool's escrow.</summary>
public readonly record struct PoolBet(Guid BetId, Guid UserId, Guid OutcomeId, Money Stake);
