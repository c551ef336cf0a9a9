using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// Settlement, Payments and Analytics follow no revocations (no Redis): the gateway's check of the token on their routes
/// is what refuses a logged-out or kill-switched token there.
/// </summary>
public sealed class GatewayRouteAuthorizationTests
{
    private static readonly string[] ClustersWithoutRevocations = ["settlement", "payments", "analytics"];

    [Fact]
    public async Task Every_route_to_a_service_without_revocations_needs_a_signed_in_caller_except_its_health()
    {
        await using var gateway = await GatewayHost.StartAsync();

        var routes = gateway.Services.GetRequiredService<IProxyConfigProvider>().GetConfig().Routes
            .Where(route => ClustersWithoutRevocations.Contains(route.ClusterId) && route.Match.Path?.StartsWith("/health/", StringComparison.Ordinal) != true)
            .ToList();

        Assert.NotEmpty(routes);
        Assert.All(routes, route => Assert.False(
            string.IsNullOrEmpty(route.AuthorizationPolicy) || string.Equals(route.AuthorizationPolicy, "anonymous", StringComparison.OrdinalIgnoreCase),
            $"Route {route.RouteId} ({route.Match.Path}) lets an anonymous caller through, or one with a revoked token."));
    }

    [Theory]
    [InlineData("/api/payments/deposits")]
    [InlineData("/api/analytics/pools")]
    public async Task An_anonymous_call_to_payments_or_analytics_is_refused_401_at_the_gateway(string path)
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());

        using var refused = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain(gateway.Upstream.Received, request => request.Path == path);
    }

    [Fact]
    public async Task A_player_reaches_payments_but_only_an_operator_reaches_analytics()
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var player = gateway.ClientFrom(GatewayHost.AnAddress());
        player.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RealtimeStack.Token(Guid.NewGuid()));
        using var admin = gateway.ClientFrom(GatewayHost.AnAddress());
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            RealtimeStack.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin));

        using var payments = await player.GetAsync("/api/payments/deposits");
        using var playersAnalytics = await player.GetAsync("/api/analytics/pools");
        using var adminsAnalytics = await admin.GetAsync("/api/analytics/pools");

        Assert.Equal(HttpStatusCode.OK, payments.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, playersAnalytics.StatusCode);
        Assert.Equal(HttpStatusCode.OK, adminsAnalytics.StatusCode);
    }
}
