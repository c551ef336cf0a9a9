using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using StreamBets.Testing;

namespace StreamBets.Web.Tests;

/// <summary>
/// Browsers reach the player site directly, and its calls to the gateway carry the front ends' key, whose trace the
/// gateway continues: so the site starts a new trace for each browser request, whatever trace context the browser sends.
/// </summary>
public sealed class BrowserTraceContextTests
{
    [Fact]
    public async Task A_page_request_starts_a_new_trace_whatever_trace_context_the_browser_sends()
    {
        var forgedTraceId = ActivityTraceId.CreateRandom();
        using var serverSpans = new RecordedActivities("Microsoft.AspNetCore");
        var redis = (await TestServers.RedisAsync()).ConnectionString;
        await using var site = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.UseSetting("ConnectionStrings:redis", redis));
        using var browser = site.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/signin");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{forgedTraceId}-{ActivitySpanId.CreateRandom()}-00"); // sampled flag off
        request.Headers.TryAddWithoutValidation("tracestate", "browser=forged");
        request.Headers.TryAddWithoutValidation("baggage", "player=forged,role=admin");
        using var answer = await browser.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        // Hosting stops the request's span after the answer is on its way: a moment after the browser may have it.
        bool SignInPage(Activity span) => (string?)span.GetTagItem("url.path") == "/signin";
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(serverSpans.Stopped.Any(SignInPage)), TimeSpan.FromSeconds(10)));
        var page = Assert.Single(serverSpans.Stopped, SignInPage);
        Assert.Equal(ActivityKind.Server, page.Kind);
        Assert.NotEqual(forgedTraceId, page.TraceId);
        Assert.Equal(default, page.ParentSpanId); // a root: samplers decide it afresh, not by the browser's flag
        Assert.Null(page.TraceStateString);
        Assert.Empty(page.Baggage);
    }
}
