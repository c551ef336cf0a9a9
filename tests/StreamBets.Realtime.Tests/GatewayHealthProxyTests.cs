namespace StreamBets.Realtime.Tests;

/// <summary>A service's health through the gateway is proxied: a client that gives up must not leave the proxied call running.</summary>
public sealed class GatewayHealthProxyTests
{
    [Fact]
    public async Task A_proxied_health_probe_the_client_gives_up_on_is_cancelled_upstream_within_seconds()
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        using var giveUp = new CancellationTokenSource();

        var probe = client.GetAsync("/health/users", giveUp.Token);
        await gateway.Upstream.ProbeArrived.WaitAsync(TimeSpan.FromSeconds(10));
        giveUp.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => probe);
        // Before, the gateway ignored the client leaving its /health/... routes, and the call ran until YARP's 100 s timeout.
        await gateway.Upstream.ProbeCancelled.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
