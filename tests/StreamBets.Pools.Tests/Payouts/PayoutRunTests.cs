using CsCheck;
using Microsoft.Extensions.Time.Testing;
using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Payouts;
using static StreamBets.Pools.Tests.Lifecycle.PoolFixtures;

namespace StreamBets.Pools.Tests.Payouts;

/// <summary>Settling bets as they stream in pays exactly what settling them all at once pays.</summary>
public class PayoutRunTests
{
    private readonly FakeTimeProvider clock = Clock();

    private static OutcomeTotal[] Declare(Pool pool, IEnumerable<PoolBet> bets) =>
        [.. pool.Outcomes.Select(o => new OutcomeTotal(o.Id, new Money(bets.Where(b => b.OutcomeId == o.Id).Sum(b => b.Stake.MinorUnits)), bets.Count(b => b.OutcomeId == o.Id)))];

    private static (List<BetSettlement> Lines, PayoutSummary Summary) Stream(Pool pool, PoolBet[] bets)
    {
        var declared = Declare(pool, bets);
        var run = pool.BeginPayouts(declared).Value!;
        var lines = bets.Select(b =>
        {
            var (payout, kind) = run.Settle(Array.FindIndex(declared, d => d.OutcomeId == b.OutcomeId), b.Stake);
            return new BetSettlement(b.BetId, b.UserId, payout, kind);
        }).ToList();
        return (lines, run.Complete().Value!);
    }

    [Fact]
    public void Streamed_payouts_equal_the_all_at_once_plan_for_any_pool_and_result()
    {
        var pools = Gen.Select(Gen.Select(Gen.Int[0, 2], Gen.Long[1, 1_000_000]).Array[0, 40], Gen.Int[0, 2], Gen.Bool);

        pools.Sample((stakes, winner, deadHeat) =>
        {
            var pool = Locked(clock);
            var winners = deadHeat ? new[] { pool.Outcomes[winner].Id, pool.Outcomes[(winner + 1) % 3].Id } : [pool.Outcomes[winner].Id];
            Assert.True(pool.Resolve(winners, clock.GetUtcNow()).IsSuccess);
            PoolBet[] bets = [.. stakes.Select(s => new PoolBet(Guid.NewGuid(), Guid.NewGuid(), pool.Outcomes[s.Item1].Id, new Money(s.Item2)))];

            var expected = pool.Settle(bets).Value!;
            var (lines, summary) = Stream(pool, bets);

            Assert.Equal(expected.Bets, lines);
            Assert.Equal(
                (expected.Basis, expected.Total, expected.Paid, expected.Rake, expected.Breakage),
                (summary.Basis, summary.Total, summary.Paid, summary.Rake, summary.Breakage));
        }, iter: 500);
    }

    [Fact]
    public void Stakes_near_the_long_limit_stream_to_the_same_hand_worked_payouts()
    {
        // The figures are worked by hand beside NearLongLimitVector; production settles through this path.
        var pool = Pool.Create(Guid.NewGuid(), Definition() with { RakeBasisPoints = NearLongLimitVector.RakeBasisPoints }).Value!;
        Assert.True(pool.Open(clock.GetUtcNow()).IsSuccess);
        Assert.True(pool.Lock(clock.GetUtcNow()).IsSuccess);
        Assert.True(pool.Resolve([pool.Outcomes[0].Id], clock.GetUtcNow()).IsSuccess);
        PoolBet[] bets = [.. NearLongLimitVector.Stakes.Select(s => new PoolBet(Guid.NewGuid(), Guid.NewGuid(), pool.Outcomes[s.OutcomeIndex].Id, new Money(s.Stake)))];

        var (lines, summary) = Stream(pool, bets);

        Assert.Equal(NearLongLimitVector.Payouts, lines.Select(l => l.Payout.MinorUnits));
        Assert.Equal(NearLongLimitVector.Kinds, lines.Select(l => l.Kind));
        Assert.Equal(SettlementBasis.Parimutuel, summary.Basis);
        Assert.Equal(NearLongLimitVector.Total, summary.Total);
        Assert.Equal(NearLongLimitVector.Rake, summary.Rake);
        Assert.Equal(NearLongLimitVector.Breakage, summary.Breakage);
        Assert.Equal(NearLongLimitVector.Paid, summary.Paid);
        Assert.Equal((3L, 2L, 0L), (summary.BetCount, summary.WinningBets, summary.RefundedBets));
    }

    [Fact]
    public void A_cancelled_pool_streams_refunds()
    {
        var pool = Cancelled(clock);
        PoolBet[] bets = [new(Guid.NewGuid(), Guid.NewGuid(), pool.Outcomes[1].Id, new Money(700))];

        var (lines, summary) = Stream(pool, bets);

        Assert.Equal([(new Money(700), SettlementKind.Refund)], lines.Select(l => (l.Payout, l.Kind)));
        Assert.Equal((SettlementBasis.Cancelled, 1L), (summary.Basis, summary.RefundedBets));
    }

    [Fact]
    public void Declared_totals_adding_up_past_the_largest_amount_are_an_invalid_declaration()
    {
        var pool = Resolved(clock);

        var begun = pool.BeginPayouts([new OutcomeTotal(pool.Outcomes[0].Id, new Money(long.MaxValue), 1), new OutcomeTotal(pool.Outcomes[1].Id, new Money(1), 1)]);

        Assert.Equal(PoolErrorCodes.InvalidPayoutDeclaration, begun.Error?.Code);
    }

    [Fact]
    public void Bets_that_do_not_match_the_declaration_fail_the_run()
    {
        var pool = Resolved(clock);
        var run = pool.BeginPayouts([new OutcomeTotal(pool.Outcomes[0].Id, new Money(1000), 2)]).Value!;

        run.Settle(0, new Money(1000));

        Assert.Equal(PoolErrorCodes.PayoutTotalsMismatch, run.Complete().Error?.Code);
    }

    [Fact]
    public void A_bet_past_its_outcomes_declared_totals_is_refused_before_it_is_paid()
    {
        var pool = Resolved(clock);
        // Each outcome declared with one bet of 100: a winning bet of 1,000 would be paid 1,900, more than the pool's 200.
        var run = pool.BeginPayouts([.. pool.Outcomes.Select(o => new OutcomeTotal(o.Id, new Money(100), 1))]).Value!;
        var winner = Array.FindIndex([.. pool.Outcomes], o => pool.WinningOutcomeIds.Contains(o.Id));

        Assert.NotNull(run.PastDeclaration(winner, new Money(1_000)));
        Assert.Throws<ArgumentOutOfRangeException>(() => run.Settle(winner, new Money(1_000)));
        Assert.Throws<ArgumentOutOfRangeException>(() => run.Settle(winner, new Money(long.MaxValue)));

        run.Settle(winner, new Money(60));
        Assert.Equal(PoolErrorCodes.PayoutTotalsMismatch, run.PastDeclaration(winner, new Money(40))?.Code); // a second bet
        Assert.Throws<ArgumentOutOfRangeException>(() => run.Settle(winner, new Money(40)));
    }

    [Fact]
    public void A_declaration_naming_another_pools_outcome_or_impossible_totals_is_refused()
    {
        var pool = Resolved(clock);

        Assert.Equal(PoolErrorCodes.UnknownOutcome, pool.BeginPayouts([new OutcomeTotal(Guid.NewGuid(), new Money(5), 1)]).Error?.Code);
        Assert.Equal(PoolErrorCodes.InvalidPayoutDeclaration, pool.BeginPayouts([new OutcomeTotal(pool.Outcomes[0].Id, new Money(1), 2)]).Error?.Code);
        Assert.Equal(PoolErrorCodes.InvalidTransition, Opened(clock).BeginPayouts([]).Error?.Code);
    }

    [Fact]
    public void A_rehydrated_pool_is_the_pool_that_was_stored()
    {
        var pool = Resolved(clock);

        var copy = Pool.Rehydrate(pool.ToMemento());

        Assert.Equal(pool.ToMemento(), copy.ToMemento() with { Outcomes = pool.Outcomes, WinningOutcomeIds = pool.WinningOutcomeIds });
        Assert.Equal(pool.Outcomes, copy.Outcomes);
        Assert.Equal(pool.WinningOutcomeIds, copy.WinningOutcomeIds);
    }
}
