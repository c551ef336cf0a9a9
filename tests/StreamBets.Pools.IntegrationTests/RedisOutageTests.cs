using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// Redis holds only copies (stakes hashes, leaderboards), but the handlers write them in their inbox transaction: while
/// Redis is down they fail. That is an outage, not a poison message: the events wait for Redis and their PostgreSQL
/// writes land once it is back, however many more tries than MaxDeliveryAttempts the outage took.
/// </summary>
public sealed class RedisOutageTests(RedisOutageTests.App app) : IClassFixture<RedisOutageTests.App>
{
    [Fact]
    public async Task Bets_placed_and_settled_while_redis_is_down_count_once_it_is_back_and_none_is_dead_lettered()
    {
        using var streamer = app.NewStreamer(out _);
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var (ana, bia) = (Guid.NewGuid(), Guid.NewGuid());
        var now = app.Clock.GetUtcNow();

        app.Redis.Down = true;
        await app.PublishAsync(
            new BetsPlaced(pool.Id, [new(Guid.NewGuid(), ana, pool.Outcomes[0].Id, 1000, now), new(Guid.NewGuid(), bia, pool.Outcomes[1].Id, 500, now)]),
            new BetsSettled(pool.Id, [new(Guid.NewGuid(), ana, "won", 1000, 1425), new(Guid.NewGuid(), bia, "lost", 500, 0)], now));
        // With 20 ms first retries, five attempts are used up in a third of a second: this outage outlasts them many times.
        Assert.True(await PoolsApp.EventuallyAsync(() => Task.FromResult(app.Redis.Refused >= 20), TimeSpan.FromSeconds(30)),
            $"The handlers did not meet the outage ({app.Redis.Refused} Redis calls refused).");
        await Task.Delay(TimeSpan.FromSeconds(2));
        app.Redis.Down = false;

        Assert.True(await PoolsApp.EventuallyAsync(async () =>
            await app.ScalarAsync<long>("SELECT coalesce(sum(staked_minor), 0)::bigint FROM pool_outcomes WHERE pool_id = $1", pool.Id) == 1500
            && await app.ScalarAsync<long>("SELECT coalesce(sum(net_minor), 0)::bigint FROM leaderboard_totals WHERE user_id = $1", ana) == 425,
            TimeSpan.FromSeconds(20)), "The bets placed and settled during the outage were not counted.");
        Assert.Equal(-500, await app.ScalarAsync<long>("SELECT net_minor FROM leaderboard_totals WHERE user_id = $1", bia));
        Assert.Equal([(1000L, 1), (500L, 1), (0L, 0)], (await streamer.GetPoolAsync(pool.Id)).Outcomes.Select(o => (o.StakedMinor, o.BetCount)));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        Assert.Equal(0, await redis.GetDatabase().StreamLengthAsync("streambets:deadletter:pools"));
    }

    /// <summary>The boards live in Redis: while it is down a read is a typed, retryable 503, not a 500.</summary>
    [Fact]
    public async Task A_leaderboard_read_while_redis_is_down_is_a_503_leaderboards_unavailable()
    {
        using var player = app.Player();

        app.Redis.Down = true;
        HttpResponseMessage response;
        try
        {
            response = await player.GetAsync("/api/pools/leaderboards?scope=global&period=week");
        }
        finally
        {
            app.Redis.Down = false;
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("https://streambets.dev/problems/leaderboards-unavailable", (await response.ProblemAsync()).Type);
        Assert.Equal(HttpStatusCode.OK, (await player.GetAsync("/api/pools/leaderboards?scope=global&period=week")).StatusCode);
    }

    /// <summary>The Pools service whose own Redis client (not the event bus's) can be taken down by the test.</summary>
    public sealed class App : PoolsApp
    {
        public RedisSwitch Redis { get; } = new();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Messaging:RetryInitialDelay", "00:00:00.020");
            builder.UseSetting("Messaging:RetryMaxDelay", "00:00:00.500");
            builder.ConfigureTestServices(services =>
            {
                var real = services.Last(d => d.ServiceType == typeof(IConnectionMultiplexer) && !d.IsKeyedService);
                services.AddSingleton(sp => Redis.Wrap((IConnectionMultiplexer)(real.ImplementationInstance ?? real.ImplementationFactory!(sp))));
            });
        }
    }

    /// <summary>While <see cref="Down"/>, every command through the wrapped client fails as with Redis unreachable.</summary>
    public sealed class RedisSwitch
    {
        private int _refused;

        public volatile bool Down;

        public int Refused => Volatile.Read(ref _refused);

        public IConnectionMultiplexer Wrap(IConnectionMultiplexer real)
        {
            var multiplexer = DispatchProxy.Create<IConnectionMultiplexer, Forwarder>();
            ((Forwarder)(object)multiplexer).Set(real, this);
            return multiplexer;
        }

        internal object? Refuse(MethodInfo method)
        {
            Interlocked.Increment(ref _refused);
            var error = new RedisConnectionException(ConnectionFailureType.UnableToConnect, "No connection is active/available to service this operation (test outage)");
            // As the client answers while disconnected: a faulted task, not a throw.
            return method.ReturnType == typeof(Task) ? Task.FromException(error)
                : method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>)
                    ? typeof(Task).GetMethods().Single(m => m.Name == nameof(Task.FromException) && m.IsGenericMethod)
                        .MakeGenericMethod(method.ReturnType.GetGenericArguments()[0]).Invoke(null, [error])
                    : throw error;
        }
    }

    /// <summary>Forwards every call; the databases it hands out (and their batches) refuse commands while Redis is down.</summary>
    public class Forwarder : DispatchProxy
    {
        private object _real = null!;
        private RedisSwitch _switch = null!;

        internal void Set(object real, RedisSwitch redisSwitch) => (_real, _switch) = (real, redisSwitch);

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (_real is IDatabaseAsync && _switch.Down && method!.Name != nameof(IDatabase.CreateBatch))
            {
                return _switch.Refuse(method);
            }
            object? result;
            try
            {
                result = method!.Invoke(_real, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
            return result switch
            {
                IDatabase database when method.ReturnType == typeof(IDatabase) => Wrap<IDatabase>(database),
                IBatch batch when method.ReturnType == typeof(IBatch) => Wrap<IBatch>(batch),
                _ => result,
            };
        }

        private T Wrap<T>(T real) where T : class
        {
            var proxy = DispatchProxy.Create<T, Forwarder>();
            ((Forwarder)(object)proxy).Set(real, _switch);
            return proxy;
        }
    }
}
