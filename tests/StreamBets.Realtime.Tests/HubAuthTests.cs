using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task A_forged_token_is_refused_not_let_in_anonymous()
    {
        // This test once expected the forged token's connection to be accepted as anonymous. Now a presented token that
        // fails validation is refused, so the client's retry policy goes back for a fresh one.
        var forged = TestTokens.New().Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin, "Mallory");

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => stack.ConnectAsync(forged));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task An_expired_token_is_refused_401_on_negotiate_with_a_problem_and_the_reason()
    {
        var expired = TestTokens.Shared.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Player, expires: DateTime.UtcNow.AddMinutes(-5));
        using var http = new HttpClient();
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, $"{stack.HostA}/hubs/live/negotiate?negotiateVersion=1");
        negotiate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", expired);

        using var response = await http.SendAsync(negotiate);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.Equal("https://streambets.dev/problems/invalid-token", problem.Text("type"));
        Assert.DoesNotContain("   at ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public async Task An_expired_token_on_a_websocket_that_skips_negotiate_is_refused()
    {
        var expired = TestTokens.Shared.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Player, expires: DateTime.UtcNow.AddMinutes(-5));
        await using var connection = new HubConnectionBuilder()
            .WithUrl($"{stack.HostA}/hubs/live?access_token={Uri.EscapeDataString(expired)}", options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true; // as the web app connects
            })
            .Build();

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => connection.StartAsync());

        Assert.Contains("401", refused.ToString(), StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task A_revoked_sessions_token_is_refused_on_reconnect()
    {
        var (player, session) = (Guid.NewGuid(), Guid.NewGuid());
        stack.ServicesA.GetRequiredService<SessionRevocation>().Remember(session.ToString(), TimeSpan.FromMinutes(20));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => stack.ConnectAsync(RealtimeStack.Token(player, sessionId: session)));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task No_token_connects_anonymous_and_a_valid_one_as_its_user()
    {
        var player = Guid.NewGuid();
        var channel = TestEvents.NewChannel();
        await using var anonymous = await stack.ConnectAsync();
        await using var signedIn = await stack.ConnectAsync(player);

        Assert.False((await anonymous.InvokeAsync<JsonElement>("GetChatPermissions", channel)).GetProperty("canChat").GetBoolean());
        Assert.Equal(player, (await signedIn.InvokeAsync<JsonElement>("SendChat", channel, "hello")).Guid("userId"));
    }
}
