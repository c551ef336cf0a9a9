using System.Net;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// The Gateway checks the admin role itself on every operator route, before proxying: a service that forgot its own
/// check would not be open to players. The routes below reach no service in this stack, so an answer other than 401 or
/// 403 means the Gateway let the request through.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class GatewayAdminRoutesTests(BetEngineStack stack)
{
    public static TheoryData<string, string> OperatorRoutes => new()
    {
        { "GET", "/api/users/admin/users?email=a@example.com" },
        { "GET", "/api/pools/admin/not-yet-written" },
        { "GET", $"/api/bets/users/{Guid.NewGuid()}" },
        { "GET", "/api/settlements?status=failed" },
        { "POST", $"/api/settlements/{Guid.NewGuid()}/requeue" },
    };

    [Theory]
    [MemberData(nameof(OperatorRoutes))]
    public async Task Only_an_admin_gets_past_the_gateway_on_an_operator_route(string method, string path)
    {
        using var anonymous = stack.GatewayClient(null);
        using var player = stack.GatewayClient(new TestPlayer(Guid.NewGuid(), BetEngineStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Player)));
        using var admin = stack.GatewayClient(new TestPlayer(Guid.NewGuid(), BetEngineStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin)));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await player.SendAsync(new HttpRequestMessage(new HttpMethod(method), path))).StatusCode);
        var proxied = (await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path))).StatusCode;
        Assert.True(proxied is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"An admin was refused: {proxied}");
    }

    /// <summary>
    /// Settlement has no Redis to hear revocations from, so the Gateway's own role check is what refuses a logged-out
    /// (or kill-switched) streamer's token there; proxied, it read settlements for the token's remaining 15 minutes.
    /// </summary>
    [Fact]
    public async Task A_pools_settlement_needs_a_streamer_and_a_live_session_at_the_gateway()
    {
        var path = $"/api/settlements/{Guid.NewGuid()}";
        var session = Guid.NewGuid();
        using var anonymous = stack.GatewayClient(null);
        using var player = stack.GatewayClient(new TestPlayer(Guid.NewGuid(), BetEngineStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Player)));
        using var streamer = stack.GatewayClient(new TestPlayer(Guid.NewGuid(),
            TestTokens.Shared.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Streamer, sessionId: session)));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync(path)).StatusCode);
        var proxied = (await streamer.GetAsync(path)).StatusCode;
        Assert.True(proxied is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"A streamer was refused: {proxied}");

        // What the Users service announces at logout.
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConnectionString))
        {
            await redis.GetSubscriber().PublishAsync(SessionRevocation.Channel, SessionRevocation.Announcement(session, TimeSpan.FromMinutes(20)));
        }
        Assert.True(await BetEngineStack.EventuallyAsync(async () => (await streamer.GetAsync(path)).StatusCode == HttpStatusCode.Unauthorized),
            "A revoked streamer token still got past the gateway to Settlement.");
    }
}
