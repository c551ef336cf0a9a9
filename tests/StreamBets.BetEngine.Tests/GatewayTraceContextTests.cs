using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using StreamBets.Gateway.Bets;
using StreamBets.Gateway.RateLimiting;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// A request from the internet starts a new trace at the Gateway: the trace context a client sends must not choose
/// whether its requests are traced (sampled flag 00), the trace id their logs and problem details show, nor carry its
/// tracestate and baggage into the services behind.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class GatewayTraceContextTests(BetEngineStack stack)
{
    /// <summary>The front ends' key of <see cref="StartGatewayTrustingAFrontEnd"/>'s Gateway.</summary>
    internal const string FrontEndKey = "trace-test-front-end-key";

    private const string ForgedTraceId = "0af7651916cd43dd8448eb211c80319c";
    private const string ForgedTraceparent = $"00-{ForgedTraceId}-b7ad6b7169203331-00"; // sampled flag off

    /// <summary>16 valid members, 4 KB: what every event written for the request would carry.</summary>
    private static readonly string ForgedTracestate = string.Join(",", Enumerable.Range(0, 16).Select(i => $"v{i}=" + new string('x', 250)));

    [Fact]
    public async Task A_bet_through_the_gateway_starts_a_new_recorded_trace_whatever_trace_context_the_player_sends()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var client = ClientSendingItsOwnTraceHeaders(stack.GatewayUrl);
        var keys = new[] { Guid.NewGuid().ToString(), Guid.NewGuid().ToString() };

        foreach (var key in keys)
        {
            using var request = ForgedTrace(HttpMethod.Post, "/api/bets");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
            request.Headers.Add(RelayedBetsApi.IdempotencyKeyHeader, key);
            request.Content = new StringContent(JsonSerializer.Serialize(new { poolId = pool.Id, outcomeId = pool.Outcomes[0], stakeMinor = 100 }), Encoding.UTF8, "application/json");
            using var answer = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        }

        var relayed = stack.RelayMessages.Sent.SelectMany(message => message.Bets).Where(bet => keys.Contains(bet.IdempotencyKey)).ToList();
        Assert.Equal(2, relayed.Count);
        foreach (var bet in relayed)
        {
            var traceparent = ActivityContext.Parse(bet.Traceparent, bet.Tracestate);
            Assert.NotEqual(ForgedTraceId, traceparent.TraceId.ToString());
            Assert.Equal(ActivityTraceFlags.Recorded, traceparent.TraceFlags); // the player cannot unsample it
            Assert.Equal("", bet.Tracestate);
        }
        // One trace per request, however many requests name the same one.
        Assert.NotEqual(ActivityContext.Parse(relayed[0].Traceparent, null).TraceId, ActivityContext.Parse(relayed[1].Traceparent, null).TraceId);
    }

    [Fact]
    public async Task The_trace_id_in_a_refusal_is_the_gateways_not_the_one_the_client_sent()
    {
        var player = await stack.NewPlayerAsync();
        using var client = ClientSendingItsOwnTraceHeaders(stack.GatewayUrl);
        using var request = ForgedTrace(HttpMethod.Post, "/api/bets");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
        request.Content = new StringContent(new string('x', RelayedBetsApi.MaxBodyBytes + 1), Encoding.UTF8, "application/json");

        using var refused = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        var traceId = problem.RootElement.GetProperty("traceId").GetString();
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        Assert.NotEqual(ForgedTraceId, traceId);
    }

    [Fact]
    public async Task A_proxied_request_carries_the_gateways_trace_context_and_none_of_the_clients_tracestate_or_baggage()
    {
        await using var pools = await HeaderEcho.StartAsync();
        await using var gateway = stack.StartGateway(new KeyValuePair<string, string?>("services:pools:http:0", pools.Url));
        using var client = gateway.CreateClient();

        var received = new List<JsonElement>();
        for (var i = 0; i < 2; i++)
        {
            using var request = ForgedTrace(HttpMethod.Get, "/api/pools/anything");
            request.Headers.TryAddWithoutValidation("Request-Id", $"|{ForgedTraceId}.b7ad6b7169203331.");
            request.Headers.TryAddWithoutValidation("Correlation-Context", "player=forged");
            using var answer = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            received.Add(JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.Clone());
        }

        foreach (var headers in received)
        {
            var traceparent = ActivityContext.Parse(headers.GetProperty("traceparent").GetString()!, null);
            Assert.NotEqual(ForgedTraceId, traceparent.TraceId.ToString());
            Assert.Equal(ActivityTraceFlags.Recorded, traceparent.TraceFlags);
            Assert.Equal("", headers.GetProperty("tracestate").GetString());
            Assert.Equal("", headers.GetProperty("baggage").GetString());
            Assert.Equal("", headers.GetProperty("correlationContext").GetString());
            Assert.DoesNotContain(ForgedTraceId, headers.GetProperty("requestId").GetString());
        }
        Assert.NotEqual(received[0].GetProperty("traceparent").GetString()![3..35], received[1].GetProperty("traceparent").GetString()![3..35]);
    }

    [Fact]
    public async Task A_vouching_front_ends_call_continues_the_front_ends_trace_and_a_wrong_key_does_not()
    {
        await using var pools = await HeaderEcho.StartAsync();
        await using var gateway = StartGatewayTrustingAFrontEnd(stack, new KeyValuePair<string, string?>("services:pools:http:0", pools.Url));
        using var client = gateway.CreateClient();
        var frontEndsTrace = ActivityTraceId.CreateRandom().ToString();

        async Task<string> TraceIdDownstreamAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/pools/anything");
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{frontEndsTrace}-{ActivitySpanId.CreateRandom()}-01");
            request.Headers.Add(FrontEndVouching.KeyHeader, key);
            using var answer = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            using var headers = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
            return headers.RootElement.GetProperty("traceparent").GetString()![3..35];
        }

        Assert.Equal(frontEndsTrace, await TraceIdDownstreamAsync(FrontEndKey));
        Assert.NotEqual(frontEndsTrace, await TraceIdDownstreamAsync("not-the-key"));
    }

    /// <summary>Another Gateway in front of the stack, whose front ends (the callers sending <see cref="FrontEndKey"/>) continue their traces.</summary>
    internal static WebApplicationFactory<RateLimitOptions> StartGatewayTrustingAFrontEnd(BetEngineStack stack, params KeyValuePair<string, string?>[] settings) =>
        stack.StartGateway([new KeyValuePair<string, string?>(FrontEndVouching.KeySetting, FrontEndKey), .. settings]);

    private static HttpRequestMessage ForgedTrace(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("traceparent", ForgedTraceparent);
        request.Headers.TryAddWithoutValidation("tracestate", ForgedTracestate);
        request.Headers.TryAddWithoutValidation("baggage", "player=forged,role=admin");
        return request;
    }

    /// <summary>A client that sends the trace headers it was given, never its own (as any client on the internet can).</summary>
    private static HttpClient ClientSendingItsOwnTraceHeaders(string baseAddress) =>
        new(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = new Uri(baseAddress) };

    /// <summary>A stand-in service behind the Gateway that answers with the trace headers it received.</summary>
    private sealed class HeaderEcho : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private HeaderEcho(WebApplication app, string url) => (_app, Url) = (app, url);

        public string Url { get; }

        public static async Task<HeaderEcho> StartAsync()
        {
            var url = $"http://127.0.0.1:{InProcessServices.FreePort()}";
            var builder = WebApplication.CreateSlimBuilder();
            // Not the Gateway's appsettings.json beside the tests, whose Kestrel endpoint would replace this one.
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection([new("urls", url)]);
            var app = builder.Build();
            app.Map("/{**rest}", (HttpRequest request) => Results.Json(new
            {
                traceparent = request.Headers["traceparent"].ToString(),
                tracestate = request.Headers["tracestate"].ToString(),
                baggage = request.Headers["baggage"].ToString(),
                requestId = request.Headers["Request-Id"].ToString(),
                correlationContext = request.Headers["Correlation-Context"].ToString(),
            }));
            await app.StartAsync();
            return new HeaderEcho(app, url);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
