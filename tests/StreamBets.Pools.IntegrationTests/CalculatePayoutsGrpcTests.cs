using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Google.Protobuf;
using Grpc.Core;
using StreamBets.Contracts;
using StreamBets.Contracts.Pools;
using ParimutuelCalculator = StreamBets.Pools.Payouts.ParimutuelCalculator;
using PoolBet = StreamBets.Pools.Payouts.PoolBet;
using Xunit.Abstractions;
using PoolsClient = StreamBets.Contracts.Pools.Pools.PoolsClient;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>Settlement's "Calculate Payouts" and GetPool (the BetEngine's and Settlement's), over a real HTTP/2 channel to the grpc endpoint.</summary>
public sealed class CalculatePayoutsGrpcTests(PoolsApp app, ITestOutputHelper output) : IClassFixture<PoolsApp>
{
    private const int ChunkSize = 10_000;

    private PoolsClient Client => new(app.GrpcChannel);

    [Fact]
    public async Task A_pool_of_100000_bets_streams_back_exactly_the_parimutuel_plan()
    {
        var pool = await ResolvedPoolAsync(winner: 0);
        var bets = RandomBets(pool, 100_000, seed: 7);
        var expected = ParimutuelCalculator.Settle(bets, [pool.Outcomes[0].Id], pool.RakeBasisPoints);

        var clock = Stopwatch.StartNew();
        var (lines, summary) = await CalculateAsync(pool, bets, Declare(pool, bets));
        output.WriteLine($"100,000 bets: {clock.ElapsedMilliseconds} ms over HTTP/2");

        Assert.Equal(expected.Bets.Select(l => (l.Payout.MinorUnits, Kind(l.Kind))), lines);
        Assert.Equal(SettlementBasis.Parimutuel, summary.Basis);
        Assert.Equal(
            (expected.Total.MinorUnits, expected.Paid.MinorUnits, expected.Rake.MinorUnits, expected.Breakage.MinorUnits),
            (summary.TotalMinor, summary.PaidMinor, summary.RakeMinor, summary.BreakageMinor));
        Assert.Equal(summary.TotalMinor, summary.PaidMinor + summary.RakeMinor + summary.BreakageMinor);
        Assert.Equal((100_000L, (long)expected.Bets.Count(l => l.Kind == Payouts.SettlementKind.Win)), (summary.BetCount, summary.WinningBets));
        Assert.Equal([pool.Outcomes[0].Id.ToString()], summary.WinningOutcomeIds);
    }

    [Fact]
    public async Task A_cancelled_pool_refunds_every_stake()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await streamer.ActAsync(pool.Id, "cancel");
        var bets = RandomBets(pool, 1_000, seed: 3);

        var (lines, summary) = await CalculateAsync(pool, bets, Declare(pool, bets));

        Assert.Equal(bets.Select(b => (b.Stake.MinorUnits, SettlementKind.Refund)), lines);
        Assert.Equal((SettlementBasis.Cancelled, 0L, 0L), (summary.Basis, summary.RakeMinor, summary.BreakageMinor));
    }

    [Fact]
    public async Task Bets_that_do_not_add_up_to_the_declaration_end_the_call_without_a_summary()
    {
        var pool = await ResolvedPoolAsync(winner: 1);
        var bets = RandomBets(pool, 2_000, seed: 5);
        var declared = Declare(pool, bets);
        declared.Outcomes[0].StakeMinor += 1;

        var error = await Assert.ThrowsAsync<RpcException>(() => CalculateAsync(pool, bets, declared));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("payout-totals-mismatch", error.Status.Detail);
    }

    [Fact]
    public async Task A_bet_past_its_outcomes_declared_totals_ends_the_call_before_its_chunk_is_paid()
    {
        var pool = await ResolvedPoolAsync(winner: 1);
        var bets = RandomBets(pool, 2_000, seed: 7);
        var declared = Declare(pool, bets);
        declared.Outcomes[1].StakeMinor -= 1; // the winners' stakes add up to more than declared: the last could be overpaid

        var error = await Assert.ThrowsAsync<RpcException>(() => CalculateAsync(pool, bets, declared));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("goes past that", error.Status.Detail);
    }

    [Fact]
    public async Task Declared_totals_adding_up_past_the_largest_amount_are_an_invalid_argument_not_an_unknown_error()
    {
        var pool = await ResolvedPoolAsync(winner: 0);
        var declared = new PayoutsStart { PoolId = pool.Id.ToString() };
        declared.Outcomes.Add(new DeclaredOutcome { OutcomeId = pool.Outcomes[0].Id.ToString(), StakeMinor = long.MaxValue, BetCount = 1 });
        declared.Outcomes.Add(new DeclaredOutcome { OutcomeId = pool.Outcomes[1].Id.ToString(), StakeMinor = 1, BetCount = 1 });

        var error = await Assert.ThrowsAsync<RpcException>(() => CalculateAsync(pool, [], declared));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("invalid-payout-declaration", error.Status.Detail);
        Assert.Contains("add up to more than", error.Status.Detail);
    }

    [Fact]
    public async Task Payouts_of_a_pool_without_a_result_are_refused()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        var error = await Assert.ThrowsAsync<RpcException>(() => CalculateAsync(pool, [], Declare(pool, [])));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
    }

    [Fact]
    public async Task GetPool_gives_the_betting_rules_and_an_unknown_pool_is_not_found()
    {
        using var streamer = app.NewStreamer(out var streamerId);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        var snapshot = await Client.GetPoolAsync(new GetPoolRequest { PoolId = pool.Id.ToString() });
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await Client.GetPoolAsync(new GetPoolRequest { PoolId = Guid.NewGuid().ToString() }));
        var malformed = await Assert.ThrowsAsync<RpcException>(async () => await Client.GetPoolAsync(new GetPoolRequest { PoolId = "pool-1" }));

        Assert.Equal(Contracts.Pools.PoolState.Open, snapshot.State);
        Assert.Equal(pool.Outcomes.Select(o => (o.Id.ToString(), o.Label)), snapshot.Outcomes.Select(o => (o.OutcomeId, o.Label)));
        Assert.Equal((pool.MinStakeMinor, pool.MaxStakeMinor, pool.LocksAt), (snapshot.MinStakeMinor, snapshot.MaxStakeMinor, (DateTimeOffset?)snapshot.LocksAt.ToDateTimeOffset()));
        Assert.Equal((streamerId.ToString(), $"twitch:{pool.Channel.ChannelId}"), (snapshot.CreatedBy, snapshot.Channel));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
    }

    [Fact]
    public async Task GetPool_names_the_streamer_the_channel_is_linked_to_now_and_nobody_once_it_is_unlinked()
    {
        using var opener = app.NewStreamer(out var openerId);
        using var admin = app.Admin();
        var pool = await opener.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var channel = pool.Channel.ChannelId;
        var newOwnerId = Guid.NewGuid();

        var whileTheOpeners = await SnapshotAsync(pool);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channel}", new { ownerId = newOwnerId })).StatusCode);
        var afterTheMove = await SnapshotAsync(pool);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/pools/admin/channels/twitch/{channel}?ownerId={newOwnerId}")).StatusCode);
        var afterTheUnlink = await SnapshotAsync(pool);
        // The Bet Engine's per-batch read leaves it out, and pays no read for it.
        var notAsked = await Client.GetPoolAsync(new GetPoolRequest { PoolId = pool.Id.ToString(), OmitChannelOwner = true });

        // The owner is whoever runs the pool now; the creator stays who opened it.
        Assert.Equal((openerId.ToString(), openerId.ToString()), (whileTheOpeners.ChannelOwnerId, whileTheOpeners.CreatedBy));
        Assert.Equal((newOwnerId.ToString(), openerId.ToString()), (afterTheMove.ChannelOwnerId, afterTheMove.CreatedBy));
        Assert.Equal(("", true, openerId.ToString()), (afterTheUnlink.ChannelOwnerId, afterTheUnlink.HasChannelOwnerId, afterTheUnlink.CreatedBy));
        Assert.False(notAsked.HasChannelOwnerId);
    }

    private async Task<PoolSnapshot> SnapshotAsync(PoolJson pool) =>
        await Client.GetPoolAsync(new GetPoolRequest { PoolId = pool.Id.ToString() });

    private async Task<PoolJson> ResolvedPoolAsync(int winner)
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await streamer.ActAsync(pool.Id, "lock");
        await streamer.ActAsync(pool.Id, "resolve", new { winningOutcomeIds = new[] { pool.Outcomes[winner].Id } });
        return pool;
    }

    private static PoolBet[] RandomBets(PoolJson pool, int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => new PoolBet(
            Guid.NewGuid(), Guid.NewGuid(), pool.Outcomes[random.Next(pool.Outcomes.Length)].Id, new Money(random.NextInt64(100, 100_001))))];
    }

    private static PayoutsStart Declare(PoolJson pool, PoolBet[] bets)
    {
        var start = new PayoutsStart { PoolId = pool.Id.ToString() };
        start.Outcomes.AddRange(pool.Outcomes.Select(o => new DeclaredOutcome
        {
            OutcomeId = o.Id.ToString(),
            StakeMinor = bets.Where(b => b.OutcomeId == o.Id).Sum(b => b.Stake.MinorUnits),
            BetCount = bets.Count(b => b.OutcomeId == o.Id),
        }));
        return start;
    }

    /// <summary>Streams the bets in chunks while reading the answers, as Settlement would.</summary>
    private async Task<(List<(long Payout, SettlementKind Kind)> Lines, PayoutSummary Summary)> CalculateAsync(PoolJson pool, PoolBet[] bets, PayoutsStart start)
    {
        var outcomeIndex = start.Outcomes.Select((o, i) => (Guid.Parse(o.OutcomeId), i)).ToDictionary(x => x.Item1, x => (uint)x.i);
        using var call = Client.CalculatePayouts();
        var sending = Task.Run(async () =>
        {
            await call.RequestStream.WriteAsync(new CalculatePayoutsRequest { Start = start });
            var sequence = 0;
            foreach (var chunk in bets.Chunk(ChunkSize))
            {
                var ids = new byte[chunk.Length * 16];
                var message = new BetChunk { Sequence = sequence++ };
                for (var i = 0; i < chunk.Length; i++)
                {
                    chunk[i].BetId.TryWriteBytes(ids.AsSpan(i * 16, 16), bigEndian: true, out _);
                    message.OutcomeIndex.Add(outcomeIndex[chunk[i].OutcomeId]);
                    message.StakeMinor.Add(chunk[i].Stake.MinorUnits);
                }

                message.BetIds = ByteString.CopyFrom(ids);
                await call.RequestStream.WriteAsync(new CalculatePayoutsRequest { Bets = message });
            }

            await call.RequestStream.CompleteAsync();
        });

        var lines = new List<(long, SettlementKind)>(bets.Length);
        PayoutSummary? summary = null;
        var expectedSequence = 0L;
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            if (response.ItemCase == CalculatePayoutsResponse.ItemOneofCase.Payouts)
            {
                Assert.Equal(expectedSequence++, response.Payouts.Sequence);
                lines.AddRange(response.Payouts.PayoutMinor.Zip(response.Payouts.Kind));
            }
            else
            {
                summary = response.Summary;
            }
        }

        await sending;
        return (lines, summary ?? throw new InvalidOperationException("No summary arrived."));
    }

    private static SettlementKind Kind(Payouts.SettlementKind kind) => kind switch
    {
        Payouts.SettlementKind.Win => SettlementKind.Win,
        Payouts.SettlementKind.Loss => SettlementKind.Loss,
        _ => SettlementKind.Refund,
    };
}
