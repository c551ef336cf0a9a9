using Microsoft.AspNetCore.SignalR;

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
    public async Task Anonymous_viewer_has_no_user_stream_to_catch_up_on()
    {
        await using var viewer = await stack.ConnectAsync();

        var refused = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync<object>("CatchUp", "user", 0L));

        Assert.Equal("sign-in-required", Refusal.Code(refused));
    }

    [Fact]
    public async Task A_forged_token_is_not_trusted()
    {
        var forged = RealtimeStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin, "Mallory", signingKey: new string('x', 64));

        // The hub lets anyone in to watch, but an invalid token makes the caller anonymous: no chat.
        await using var client = await stack.ConnectAsync(forged);
        var refused = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<object>("SendChat", TestEvents.NewChannel(), "hello"));

        Assert.Equal("sign-in-required", Refusal.Code(refused));
    }
}
