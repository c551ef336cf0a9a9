using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

[Collection(StackCollection.Name)]
public sealed class HubAuthTests(RealtimeStack stack)
{
    [Fact]
    public async Task Anonymous_viewer_watches_a_pool_but_cannot_chat()
    {
        var poolId = Guid.NewGuid();
        await using var viewer = await stack.ConnectAsync();
        await viewer.InvokeAsync("WatchPool", poolId);

        await stack.Bus.PublishAsync(TestEvents.Odds(poolId, 1_000));

        Assert.Equal(1_000, (await viewer.WaitForAsync("OddsChanged", p => p.About(poolId))).Number("totalStakedMinor"));
        var refused = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync<object>("SendChat", TestEvents.NewChannel(), "hello"));
        Assert.Equal("sign-in-required", Refusal.Code(refused));
    }

    [Fact]
    public async Task A_token_in_the_access_token_query_puts_the_connection_in_its_user_group_only()
    {
        var (alice, bob) = (Guid.NewGuid(), Guid.NewGuid());
        await using var aliceClient = await stack.ConnectAsync(alice);
        await using var bobClient = await stack.ConnectAsync(bob);
        await using var anonymous = await stack.ConnectAsync();

        await stack.Bus.PublishAsync(TestEvents.Wallet(alice, 4_200), TestEvents.Wallet(bob, 7_700));

        var aliceWallet = await aliceClient.WaitForAsync("WalletChanged");
        Assert.Equal(4_200, aliceWallet.Number("balanceMinor"));
        Assert.Equal("user", aliceWallet.Text("stream"));
        await bobClient.WaitForAsync("WalletChanged");
        await Task.Delay(500); // a push to the wrong group would have arrived by now
        Assert.Equal([4_200L], aliceClient.Received("WalletChanged").Select(p => p.Number("balanceMinor")));
        Assert.Equal([7_700L], bobClient.Received("WalletChanged").Select(p => p.Number("balanceMinor")));
        Assert.Empty(anonymous.Received("WalletChanged"));
    }

    [Fact]
    public async Task A_logout_ends_that_sessions_live_connections_on_every_replica_and_no_others()
    {
        var (player, session) = (Guid.NewGuid(), Guid.NewGuid());
        var token = RealtimeStack.Token(player, sessionId: session);
        await using var onA = await stack.ConnectAsync(token);
        await using var onB = await stack.ConnectAsync(token, toHostB: true);
        await using var otherSession = await stack.ConnectAsync(RealtimeStack.Token(player, sessionId: Guid.NewGuid()));
        var closed = new[] { onA, onB }.Select(ClosedAsync).ToArray();

        // What the Users service announces at logout (SessionRevocationList).
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConnectionString))
        {
            await redis.GetSubscriber().PublishAsync(SessionRevocation.Channel, SessionRevocation.Announcement(session, TimeSpan.FromMinutes(20)));
        }

        await Task.WhenAll(closed).WaitAsync(TimeSpan.FromSeconds(10));
        await stack.Bus.PublishAsync(TestEvents.Wallet(player, 1_234));
        Assert.Equal(1_234, (await otherSession.WaitForAsync("WalletChanged")).Number("balanceMinor"));
        Assert.Equal((HubConnectionState.Disconnected, HubConnectionState.Disconnected, HubConnectionState.Connected),
            (onA.Connection.State, onB.Connection.State, otherSession.Connection.State));
    }

    private static Task ClosedAsync(LiveClient client)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        return closed.Task;
    }

    [Fact]
    public async Task Anonymous_viewer_has_no_user_stream_to_catch_up_on()
    {
        await using var viewer = await stack.ConnectAsync();

        var refused = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync<object>("CatchUp", "user", 0L));

        Assert.Equal("sign-in-required", Refusal.Code(refused));
    }

    [Fact]
    public async Task A_forged_token_is_not_trusted()
    {
        var forged = TestTokens.New().Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin, "Mallory");

        // The hub lets anyone in to watch, but an invalid token makes the caller anonymous: no chat.
        await using var client = await stack.ConnectAsync(forged);
        var refused = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<object>("SendChat", TestEvents.NewChannel(), "hello"));

        Assert.Equal("sign-in-required", Refusal.Code(refused));
    }
}
