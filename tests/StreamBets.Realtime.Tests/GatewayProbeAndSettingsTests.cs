using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StreamBets.Gateway.RateLimiting;

namespace StreamBets.Realtime.Tests;

/// <summary>The gateway's own probes are never limited, however they are spelled; and limits that cannot work stop its start.</summary>
public sealed class GatewayProbeAndSettingsTests
{
    [Theory]
    [InlineData("/health/")]
    [InlineData("/alive/")]
    [InlineData("/HEALTH")]
    public async Task The_gateways_own_probes_with_a_trailing_slash_or_in_another_case_are_never_limited(string probe)
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        var budget = gateway.Services.GetRequiredService<IOptions<RateLimitOptions>>().Value.AnonymousPermitsPerWindow;

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i <= budget; i++)
        {
            using var answer = await client.GetAsync(probe);
            statuses.Add(answer.StatusCode);
        }

        // Routing maps these to /health and /alive: a probe configured so must not be refused 429 and take a replica out.
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Theory]
    [InlineData("WindowSeconds", "0")]
    [InlineData("WindowSeconds", "-1")]
    [InlineData("AnonymousPermitsPerWindow", "0")]
    [InlineData("AuthenticatedPermitsPerWindow", "-5")]
    [InlineData("FrontEndPermitsPerWindow", "0")]
    [InlineData("SyncInterval", "00:00:00")]
    public async Task A_rate_limit_that_cannot_work_stops_the_gateways_start_naming_the_setting(string setting, string value)
    {
        var key = $"{RateLimitOptions.SectionName}:{setting}";

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(
            () => GatewayHost.StartAsync(settings: new Dictionary<string, string> { [key] = value }));

        Assert.Contains(key, refused.Message);
    }
}
