using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>How the front ends' gateway client behaves when the gateway fails: an answer, never an exception that would
/// tear down the player's circuit, and never a resent POST.</summary>
public sealed class GatewayResilienceTests
{
    [Fact]
    public async Task A_call_the_resilience_pipeline_refuses_to_send_is_answered_unavailable_not_thrown()
    {
        foreach (var refusal in new Exception[] { new BrokenCircuitException(), new TimeoutRejectedException() })
        {
            var client = new GatewayClient(new Clients(new Throwing(refusal)), session: null!, NullLogger<GatewayClient>.Instance);

            var login = await client.LoginAsync("ana@example.com", "correct horse battery");

            Assert.Equal(ApiProblem.Unavailable, login.Problem?.Code);
        }
    }

    [Fact]
    public async Task A_change_answered_with_an_unnamed_server_error_stays_unavailable_with_its_outcome_unknown()
    {
        // ServiceDefaults' generic 500: the service may have committed before it failed. The code stays the one on
        // which the bet and deposit forms keep their idempotency key, so the retry cannot count twice.
        var gateway = new Answering(HttpStatusCode.InternalServerError,
            """{"type":"https://tools.ietf.org/html/rfc9110#section-15.6.1","title":"An unexpected error occurred.","status":500,"traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}""");
        var client = new GatewayClient(new Clients(gateway), session: null!, NullLogger<GatewayClient>.Instance);

        var login = await client.LoginAsync("ana@example.com", "correct horse battery");

        Assert.Equal(ApiProblem.Unavailable, login.Problem?.Code);
        Assert.True(login.Problem!.OutcomeUnknown);
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", login.Problem.TraceId);
    }

    [Fact]
    public async Task The_gateway_client_resends_a_failed_read_but_never_a_post()
    {
        var gateway = new Failing();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler()); // as the service defaults do
        services.AddGatewayHttpClient().Configure(options => options.Retry.Delay = TimeSpan.Zero);
        services.AddHttpClient(GatewayClientBase.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => gateway);
        await using var provider = services.BuildServiceProvider();
        using var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient(GatewayClientBase.HttpClientName);

        using (await http.PostAsync("/api/users/token/refresh", new StringContent("{}")))
        {
        }
        Assert.Equal(["POST"], gateway.Methods);

        using (await http.GetAsync("/api/users/me/wallet"))
        {
        }
        Assert.True(gateway.Methods.Count(m => m == "GET") > 1, "A failed read was not retried.");
    }

    [Fact]
    public async Task The_gateway_s_own_refusals_never_open_the_circuit_breaker_every_player_shares_but_no_answers_do()
    {
        // A Bet Engine restart in a rush: the gateway answers every bet 503, and many players are told so at once.
        var busy = new Answering(HttpStatusCode.ServiceUnavailable,
            """{"type":"https://streambets.dev/problems/dependency-unavailable","title":"Service unavailable","status":503}""");
        await using (var provider = GatewayClientProvider(busy))
        {
            var client = new GatewayClient(provider.GetRequiredService<IHttpClientFactory>(), session: null!, NullLogger<GatewayClient>.Instance);
            for (var bet = 0; bet < 150; bet++)
            {
                await client.LoginAsync("ana@example.com", "correct horse battery");
            }
            Assert.Equal(150, busy.Count); // each reached the gateway: none was refused by an open breaker
        }

        // No answer at all, again and again: the gateway is unreachable, and the breaker spares it the calls.
        var unreachable = new Throwing(new HttpRequestException("Connection refused"));
        await using (var provider = GatewayClientProvider(unreachable))
        {
            using var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient(GatewayClientBase.HttpClientName);
            var refused = false;
            for (var call = 0; call < 150 && !refused; call++)
            {
                try
                {
                    using var _ = await http.PostAsync("/api/bets", new StringContent("{}"));
                }
                catch (HttpRequestException)
                {
                }
                catch (BrokenCircuitException)
                {
                    refused = true;
                }
            }
            Assert.True(refused, "Calls that got no answer did not open the circuit breaker.");
        }
    }

    private static ServiceProvider GatewayClientProvider(HttpMessageHandler gateway)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler()); // as the service defaults do
        services.AddGatewayHttpClient().Configure(options => options.Retry.Delay = TimeSpan.Zero);
        services.AddHttpClient(GatewayClientBase.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => gateway);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Every_gateway_call_vouches_for_the_browser_being_served_once_however_often_it_is_sent()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(FrontEndVouching.KeySetting, "front-end-key")]).Build();
        var browser = new DefaultHttpContext();
        browser.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        var gateway = new Recording();
        using var client = new HttpClient(new FrontEndVouchingHandler(configuration, new HttpContextAccessor { HttpContext = browser }) { InnerHandler = gateway })
        {
            BaseAddress = new Uri("http://gateway"),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login");

        (await client.SendAsync(request)).Dispose();
        (await new HttpMessageInvoker(new FrontEndVouchingHandler(configuration, new HttpContextAccessor { HttpContext = browser }) { InnerHandler = gateway })
            .SendAsync(request, default)).Dispose(); // as a retry resends the same request

        Assert.All(gateway.Headers, headers =>
        {
            Assert.Equal(["front-end-key"], headers[FrontEndVouching.KeyHeader]);
            Assert.Equal(["203.0.113.7"], headers[FrontEndVouching.ClientAddressHeader]);
        });

        // With no browser at hand (a live page's token refresh), the key alone; with no key configured, nothing.
        (await new HttpMessageInvoker(new FrontEndVouchingHandler(configuration, new HttpContextAccessor { HttpContext = null }) { InnerHandler = gateway })
            .SendAsync(new HttpRequestMessage(HttpMethod.Post, "http://gateway/api/users/token/refresh"), default)).Dispose();
        (await new HttpMessageInvoker(new FrontEndVouchingHandler(new ConfigurationBuilder().Build(), new HttpContextAccessor { HttpContext = browser }) { InnerHandler = gateway })
            .SendAsync(new HttpRequestMessage(HttpMethod.Post, "http://gateway/api/users/login"), default)).Dispose();
        Assert.Equal([FrontEndVouching.KeyHeader], gateway.Headers[2].Keys);
        Assert.Empty(gateway.Headers[3]);
    }

    private sealed class Recording : HttpMessageHandler
    {
        public List<Dictionary<string, string[]>> Headers { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Headers.Add(request.Headers.Where(h => h.Key.StartsWith("X-StreamBets-", StringComparison.Ordinal)).ToDictionary(h => h.Key, h => h.Value.ToArray()));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }

    private sealed class Clients(HttpMessageHandler gateway) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(gateway, disposeHandler: false) { BaseAddress = new Uri("http://gateway") };
    }

    private sealed class Answering(HttpStatusCode status, string problem) : HttpMessageHandler
    {
        private int _count;

        public int Count => _count;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(problem, System.Text.Encoding.UTF8, "application/problem+json") });
        }
    }

    private sealed class Throwing(Exception exception) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Task.FromException<HttpResponseMessage>(exception);
    }

    /// <summary>Answers every request 503, as a gateway whose service failed after acting (a refresh token spent, say).</summary>
    private sealed class Failing : HttpMessageHandler
    {
        private readonly List<string> _methods = [];

        public IReadOnlyList<string> Methods
        {
            get
            {
                lock (_methods)
                {
                    return [.. _methods];
                }
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (_methods)
            {
                _methods.Add(request.Method.Method);
            }
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
        }
    }
}
