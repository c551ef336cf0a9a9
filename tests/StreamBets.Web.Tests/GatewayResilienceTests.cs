using System.Net;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task The_gateway_client_resends_a_failed_read_but_never_a_post()
    {
        var gateway = new Failing();
        var services = new ServiceCollection().AddLogging();
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

    private sealed class Clients(HttpMessageHandler gateway) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(gateway, disposeHandler: false) { BaseAddress = new Uri("http://gateway") };
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
