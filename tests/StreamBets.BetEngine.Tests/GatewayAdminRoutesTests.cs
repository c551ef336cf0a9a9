using System.Net;
using Microsoft.Extensions.Hosting;


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
}
