using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Realtime.Hubs;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>The hub's allowances are per caller on a replica (a user, or a signed-out client network), not per connection.</summary>
[Collection(StackCollection.Name)]
public sealed class HubCallerLimitsTests(RealtimeStack stack)
{
    [Fact]
    public async Task A_second_connection_of_the_same_user_gets_no_fresh_call_budget()
    {
        var (replica, _, url) = stack.StartSpareReplica(new() { ["Realtime:ReadCallBurst"] = "20", ["Realtime:ReadCallsPerSecond"] = "0.1" });
        await using (replica)
        {
            var token = RealtimeStack.Token(Guid.NewGuid());
            await using var first = await LiveClient.ConnectAsync(url, token);
            await DrainAsync(first);

            // Connecting again (a page reload, or a script opening sockets) brings no new allowance.
            var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var second = await LiveClient.ConnectAsync(url, token);
                await second.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L);
            });
            Assert.Equal("rate-limited", Refusal.Code(Assert.IsType<HubException>(refused)));
            await using var someoneElse = await LiveClient.ConnectAsync(url, RealtimeStack.Token(Guid.NewGuid()));
            Assert.Empty(await someoneElse.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L));
        }
    }

    [Fact]
    public async Task A_second_signed_out_connection_from_the_same_network_gets_no_fresh_call_budget()
    {
        var (replica, _, url) = stack.StartSpareReplica(new() { ["Realtime:AnonymousReadCallBurst"] = "20", ["Realtime:AnonymousReadCallsPerSecond"] = "0.1" });
        await using (replica)
        {
            var network = RealtimeStack.NewClientNetwork();
            await using var first = await LiveClient.ConnectAsync(url, token: null, network);
            await DrainAsync(first);

            var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var second = await LiveClient.ConnectAsync(url, token: null, network);
                await second.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L);
            });
            Assert.Equal("rate-limited", Refusal.Code(Assert.IsType<HubException>(refused)));
            await using var otherNetwork = await LiveClient.ConnectAsync(url, token: null, RealtimeStack.NewClientNetwork());
            Assert.Empty(await otherNetwork.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L));
        }
    }

    [Fact]
    public async Task Signed_out_viewers_a_front_end_connects_from_its_own_address_are_each_a_caller_of_their_own()
    {
        // The player site's server connects every signed-out viewer of it; the gateway names them all by its address.
        var (replica, _, url) = stack.StartSpareReplica(new()
        {
            ["Realtime:ReadCallBurst"] = "20", ["Realtime:ReadCallsPerSecond"] = "0.1",
            ["Realtime:AnonymousReadCallBurst"] = "20", ["Realtime:AnonymousReadCallsPerSecond"] = "0.1",
            ["Realtime:MaxConnectionsPerAnonymousNetwork"] = "1",
        });
        await using (replica)
        {
            var frontEnd = $"front-end:10.9.{Random.Shared.Next(256)}.{Random.Shared.Next(256)}";
            await using var first = await LiveClient.ConnectAsync(url, token: null, frontEnd);
            await DrainAsync(first);

            // Another viewer of the same front end: connected despite the network cap of 1, with a budget of its own.
            await using var second = await LiveClient.ConnectAsync(url, token: null, frontEnd);
            Assert.Empty(await second.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L));
        }
    }

    [Fact]
    public async Task Calls_of_server_sent_events_connections_at_the_cap_are_not_counted_as_connections()
    {
        var (replica, _, url) = stack.StartSpareReplica(new() { ["Realtime:MaxConnectionsPerUser"] = "2" });
        await using (replica)
        {
            var token = RealtimeStack.Token(Guid.NewGuid());
            // Over server-sent events each call is a POST of its own beside the stream: the cap counts the streams only.
            var connections = new List<HubConnection>();
            try
            {
                for (var i = 0; i < 2; i++)
                {
                    var connection = new HubConnectionBuilder()
                        .WithUrl($"{url}/hubs/live?access_token={Uri.EscapeDataString(token)}",
                            options => options.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.ServerSentEvents)
                        .Build();
                    connections.Add(connection);
                    await connection.StartAsync();
                }

                Assert.Empty(await connections[0].InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L));
                Assert.Empty(await connections[1].InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L));
            }
            finally
            {
                foreach (var connection in connections)
                {
                    await connection.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task A_connection_beyond_the_callers_cap_is_refused_429_and_one_closing_makes_room()
    {
        var (replica, _, url) = stack.StartSpareReplica(new() { ["Realtime:MaxConnectionsPerUser"] = "2", ["Realtime:MaxConnectionsPerAnonymousNetwork"] = "3" });
        await using (replica)
        {
            var token = RealtimeStack.Token(Guid.NewGuid());
            var first = await LiveClient.ConnectAsync(url, token);
            await using var second = await LiveClient.ConnectAsync(url, token);

            var refused = await Assert.ThrowsAnyAsync<Exception>(() => LiveClient.ConnectAsync(url, token));
            Assert.Contains("429", refused.ToString(), StringComparison.Ordinal);
            await using var otherUser = await LiveClient.ConnectAsync(url, RealtimeStack.Token(Guid.NewGuid()));

            await first.DisposeAsync();
            Assert.True(await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    await (await LiveClient.ConnectAsync(url, token)).DisposeAsync();
                    return true;
                }
                catch (Exception)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(10)));

            var network = RealtimeStack.NewClientNetwork();
            var viewers = new List<LiveClient>();
            for (var i = 0; i < 3; i++)
            {
                viewers.Add(await LiveClient.ConnectAsync(url, token: null, network));
            }
            var fourth = await Assert.ThrowsAnyAsync<Exception>(() => LiveClient.ConnectAsync(url, token: null, network));
            Assert.Contains("429", fourth.ToString(), StringComparison.Ordinal);
            foreach (var viewer in viewers)
            {
                await viewer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Watches_are_capped_per_caller_over_its_connections_and_forgotten_with_it()
    {
        var (replica, services, url) = stack.StartSpareReplica(new() { ["Realtime:MaxWatchesPerUser"] = "3", ["Realtime:ReadCallsPerSecond"] = "10000" });
        await using (replica)
        {
            var token = RealtimeStack.Token(Guid.NewGuid());
            var pools = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid()).ToArray();
            var first = await LiveClient.ConnectAsync(url, token);
            var second = await LiveClient.ConnectAsync(url, token);
            await first.InvokeAsync("WatchPool", pools[0]);
            await first.InvokeAsync("WatchPool", pools[1]);
            await second.InvokeAsync("WatchPool", pools[1]); // the same group costs nothing more
            await second.InvokeAsync("WatchPool", pools[2]);

            var refused = await Assert.ThrowsAsync<HubException>(() => second.InvokeAsync("WatchPool", pools[3]));
            Assert.Equal("too-many-watches", Refusal.Code(refused));
            await first.InvokeAsync("UnwatchPool", pools[0]);
            await second.InvokeAsync("WatchPool", pools[3]);

            // Once the caller has no connection left, and its budget has refilled, nothing of it is kept.
            var callers = services.GetRequiredService<HubCallers>();
            await first.DisposeAsync();
            await second.DisposeAsync();
            Assert.True(await Eventually.HoldsAsync(() =>
            {
                callers.ForgetIdle();
                return Task.FromResult(callers.Count == 0);
            }, TimeSpan.FromSeconds(10)));
        }
    }

    /// <summary>Catches up until the caller's budget is spent.</summary>
    private static async Task DrainAsync(LiveClient client)
    {
        var refused = await Assert.ThrowsAsync<HubException>(async () =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                await client.InvokeAsync<List<JsonElement>>("CatchUp", $"pool:{Guid.NewGuid()}", 0L);
            }
        });
        Assert.Equal("rate-limited", Refusal.Code(refused));
    }
}
