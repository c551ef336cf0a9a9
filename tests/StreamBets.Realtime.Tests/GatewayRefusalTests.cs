using System.Net;

namespace StreamBets.Realtime.Tests;

/// <summary>What the gateway answers itself is problem details, whatever the client says it accepts.</summary>
public sealed class GatewayRefusalTests
{
    [Fact]
    public async Task A_client_that_does_not_accept_json_is_still_refused_429_with_problem_details_not_a_500()
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        client.DefaultRequestHeaders.Accept.ParseAdd("text/plain");

        // Twice the anonymous budget at once: well inside one window.
        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.GetAsync("/api/pools/live")));
        try
        {
            Assert.DoesNotContain(answers, answer => (int)answer.StatusCode >= 500);
            var refused = Assert.IsType<HttpResponseMessage>(answers.FirstOrDefault(answer => answer.StatusCode == HttpStatusCode.TooManyRequests), exactMatch: false);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Contains("https://streambets.dev/problems/rate-limited", await refused.Content.ReadAsStringAsync());
        }
        finally
        {
            foreach (var answer in answers)
            {
                answer.Dispose();
            }
        }
    }
}
