using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// Where the site finds the gateway: deployed, it is reached over https (plain http is redirected, and a redirected POST
/// comes back a GET); run locally, the AppHost gives it an http endpoint only.
/// </summary>
public sealed class GatewayAddressTests
{
    private const string Deployed = "https://gateway.example.io";
    private const string Local = "http://localhost:5100";

    [Fact]
    public void The_hub_is_reached_over_https_where_the_gateway_has_it()
    {
        var address = new LiveHubAddress(Configuration(https: true));

        Assert.Equal(new Uri($"{Deployed}/hubs/live"), address.HubUri);
    }

    [Fact]
    public void The_hub_is_reached_over_http_where_the_gateway_has_only_that()
    {
        var address = new LiveHubAddress(Configuration(https: false));

        Assert.Equal(new Uri($"{Local}/hubs/live"), address.HubUri);
    }

    [Theory]
    [InlineData(true, Deployed + "/api/pools")]
    [InlineData(false, Local + "/api/pools")]
    public async Task The_gateway_s_rest_calls_go_over_https_where_it_has_it_and_over_http_otherwise(bool https, string expected)
    {
        var gateway = new Recording();
        var services = new ServiceCollection().AddLogging().AddSingleton(Configuration(https));
        services.AddServiceDiscovery();
        services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery()); // as the service defaults do
        services.AddGatewayHttpClient();
        services.AddHttpClient(GatewayClientBase.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => gateway);
        await using var provider = services.BuildServiceProvider();
        using var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient(GatewayClientBase.HttpClientName);

        using (await http.PostAsync("/api/pools", new StringContent("{}")))
        {
        }

        Assert.Equal([new Uri(expected)], gateway.Uris);
    }

    private static IConfiguration Configuration(bool https)
    {
        var settings = new Dictionary<string, string?> { ["services:gateway:http:0"] = Local };
        if (https)
        {
            settings["services:gateway:https:0"] = Deployed;
        }
        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    }

    private sealed class Recording : HttpMessageHandler
    {
        public List<Uri> Uris { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Uris.Add(request.RequestUri!);
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK));
        }
    }
}
