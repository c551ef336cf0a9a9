using System.Text.Json;
using Google.Protobuf;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StreamBets.Contracts.Bets;
using StreamBets.Gateway.Bets;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// A Bet Engine replica that begins to stop (SIGTERM on every deploy and scale-in) ends the Gateway's relay stream once
/// the bets it read are answered, so the Gateway's next stream goes to a live replica instead of the stopping one
/// carrying bets until the host's shutdown timeout kills the connection and every waiting player gets 503.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class BetEngineShutdownTests(BetEngineStack stack)
{
    [Fact]
    public async Task A_stopping_bet_engine_answers_the_bets_it_read_then_ends_its_stream_and_the_next_bets_go_to_a_live_replica()
    {
        var (heldPool, pool) = (await stack.NewPoolAsync(), await stack.NewPoolAsync());
        var (first, held, late, next) = (await stack.NewPlayerAsync(), await stack.NewPlayerAsync(), await stack.NewPlayerAsync(), await stack.NewPlayerAsync());
        var stoppingPorts = ServicePorts.Free();
        await using var stoppingReplica = stack.StartBetEngine(stoppingPorts);
        var stoppingLifetime = stoppingReplica.Services.GetRequiredService<IHostApplicationLifetime>();
        using var liveChannel = stack.BetEngineGrpcChannel();
        var balancer = new Balancer(stoppingLifetime.ApplicationStopping, new Uri("http://" + liveChannel.Target));
        // Given as a client, not a handler, so the channel does not open its own connections behind the balancer's back.
        using var channel = GrpcChannel.ForAddress(stoppingPorts.GrpcUrl, new GrpcChannelOptions { HttpClient = new HttpClient(balancer), DisposeHttpClient = true });
        var messages = new RecordedCalls<RestBetBatch>();
        var relay = new BetRelay(
            new Contracts.Bets.BetEngine.BetEngineClient(channel.Intercept(messages)),
            Options.Create(new BetRelayOptions { AnswerDeadline = BetEngineStack.RelayAnswerDeadline }),
            TimeProvider.System, NullLogger<BetRelay>.Instance);
        await relay.StartAsync(CancellationToken.None);
        using var hold = stack.StakeHold.Arm(heldPool.Id);
        try
        {
            Assert.Equal(201, (await relay.PlaceAsync(Bet(first, pool)).WaitAsync(TimeSpan.FromSeconds(15)))?.Status);

            // The replica is mid-ledger-call for a bet it read when it is told to stop; a bet written after that waits on
            // the same stream, unread.
            var heldPlacing = relay.PlaceAsync(Bet(held, heldPool));
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(15));
            stoppingLifetime.StopApplication();
            var latePlacing = relay.PlaceAsync(Bet(late, pool));
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(SentBets(messages, late) == 1)), "The late bet was never written.");
            hold.Release();

            // The bet it read is answered on its stream; the one it never read goes again on the next stream, to the live
            // replica, and neither player is told to retry.
            Assert.Equal(201, (await heldPlacing.WaitAsync(TimeSpan.FromSeconds(15)))?.Status);
            Assert.Equal(201, (await latePlacing.WaitAsync(TimeSpan.FromSeconds(15)))?.Status);
            Assert.Equal(201, (await relay.PlaceAsync(Bet(next, pool)).WaitAsync(TimeSpan.FromSeconds(15)))?.Status);
            Assert.Equal(2, messages.StreamsOpened);
            Assert.Equal((1, 1), (balancer.StreamsToStopping, balancer.StreamsToLive));
            Assert.Equal(2, SentBets(messages, late));
        }
        finally
        {
            hold.Release();
            await relay.StopAsync(CancellationToken.None);
        }

        // Each bet placed once.
        Assert.Equal(1, await stack.BetsOfPoolAsync(heldPool.Id, "accepted"));
        Assert.Equal(3, await stack.BetsOfPoolAsync(pool.Id, "accepted"));
        Assert.Equal(1, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", heldPool.Id));
        Assert.Equal(3, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1", pool.Id));
        Assert.Equal(250, await stack.BalanceAsync(heldPool.Escrow));
        Assert.Equal(750, await stack.BalanceAsync(pool.Escrow));
        await stack.AssertLedgerExactAsync();
    }

    private static RestBet Bet(TestPlayer player, TestPool pool) => new()
    {
        UserId = player.Id.ToString(), IdempotencyKey = player.Id.ToString(), HasIdempotencyKey = true, ContentType = "application/json",
        Body = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 250 })),
    };

    private static int SentBets(RecordedCalls<RestBetBatch> messages, TestPlayer player) =>
        messages.Sent.SelectMany(message => message.Bets).Count(bet => bet.UserId == player.Id.ToString());

    /// <summary>
    /// Container Apps' ingress in front of the two replicas: a new stream goes to the one that is not stopping, as the
    /// ingress stops routing to a replica once it is told to stop.
    /// </summary>
    private sealed class Balancer(CancellationToken stopping, Uri live) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _streamsToStopping;
        private int _streamsToLive;

        public int StreamsToStopping => Volatile.Read(ref _streamsToStopping);

        public int StreamsToLive => Volatile.Read(ref _streamsToLive);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (stopping.IsCancellationRequested)
            {
                request.RequestUri = new UriBuilder(request.RequestUri!) { Host = live.Host, Port = live.Port }.Uri;
                Interlocked.Increment(ref _streamsToLive);
            }
            else
            {
                Interlocked.Increment(ref _streamsToStopping);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
