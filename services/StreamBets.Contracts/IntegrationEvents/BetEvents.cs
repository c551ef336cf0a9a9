using System.Text.Json.Serialization;

namespace StreamBets.Contracts.IntegrationEvents;

/// <summary>
/// Bets of one pool accepted together (their stakes are in the pool's escrow): one event per committed batch, up to
/// <see cref="MaxBets"/>, so the last-second rush costs the bus and its consumers a message per batch, not per bet.
/// Each accepted bet is in exactly one event. Keyed by pool, so a pool's bets keep their order.
/// </summary>
[IntegrationEvent("streambets.bets.bets-placed.v1", IntegrationTopics.Bets)]
public sealed record BetsPlaced(Guid PoolId, IReadOnlyList<PlacedBetLine> Bets) : IIntegrationEvent
{
    /// <summary>About 160 KB of JSON: well inside Redis Streams' and Kafka's default 1 MB message limit.</summary>
    public const int MaxBets = 1_000;

    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

public sealed record PlacedBetLine(Guid BetId, Guid UserId, Guid OutcomeId, long StakeMinor, DateTimeOffset PlacedAt);

/// <summary>Live odds moved: the bet engine's aggregated stakes per outcome, published at most every few hundred milliseconds per pool, not per bet.</summary>
[IntegrationEvent("streambets.bets.odds-changed.v1", IntegrationTopics.Bets)]
public sealed record OddsChanged(Guid PoolId, long TotalStakedMinor, IReadOnlyList<OutcomeStakes> Outcomes, DateTimeOffset AsOf) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

/// <summary>
/// Bets of one pool were paid, up to <see cref="MaxBets"/> per event: one event per bet made a 1,000,000-bet pool a
/// million messages for every consumer, which cost more than paying it. Each bet appears in exactly one event.
/// </summary>
[IntegrationEvent("streambets.settlement.bets-settled.v1", IntegrationTopics.Settlement)]
public sealed record BetsSettled(Guid PoolId, IReadOnlyList<SettledBetLine> Bets, DateTimeOffset SettledAt) : IIntegrationEvent
{
    /// <summary>About 150 KB of JSON: well inside Redis Streams' and Kafka's default 1 MB message limit.</summary>
    public const int MaxBets = 1_000;

    [JsonIgnore] public string AggregateId => PoolId.ToString();
}

/// <summary>One paid bet. <paramref name="Result"/> is "won", "lost" or "refunded"; <paramref name="PayoutMinor"/> is 0 for a loss.</summary>
public sealed record SettledBetLine(Guid BetId, Guid UserId, string Result, long StakeMinor, long PayoutMinor);

/// <summary>The whole pool was paid: payouts + rake + breakage = total, exactly.</summary>
[IntegrationEvent("streambets.settlement.pool-settled.v1", IntegrationTopics.Settlement)]
public sealed record PoolSettled(
    Guid PoolId, long TotalMinor, long PaidOutMinor, long RakeMinor, long BreakageMinor, int WinningBets, int RefundedBets, DateTimeOffset SettledAt) : IIntegrationEvent
{
    [JsonIgnore] public string AggregateId => PoolId.ToString();
}
