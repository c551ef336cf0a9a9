using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Gateway.RateLimiting;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// A gateway of a test's own on Kestrel, every cluster proxied to one <see cref="Upstream"/>. Clients are named by a
/// vouching front end, so each test's network is its own in the shared Redis.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    public const string FrontEndKey = "front-end-key-for-gateway-tests";

    private static readonly string[] Clusters = ["users", "betengine", "pools", "settlement", "payments", "analytics", "integration", "realtime"];
    private readonly WebApplicationFactory<RateLimitOptions> _factory;

    private GatewayHost(WebApplicationFactory<RateLimitOptions> factory, string url, Upstream upstream) =>
        (_factory, Url, Upstream) = (factory, url, upstream);

    public string Url { get; }
    public Upstream Upstream { get; }

    /// <summary>The gateway's services.</summary>
    public IServiceProvider Services => _factory.Services;

    /// <param name="redis">A Redis of the test's own (to count its commands, or stop it); the shared one without.</param>
    /// <param name="services">Registers what the test adds to the gateway (a health check of its own), after the gateway's.</param>
    /// <param name="settings">Settings the test gives the gateway on top of its own (<c>RateLimiting:WindowSeconds</c>...).</param>
    public static async Task<GatewayHost> StartAsync(
        string? redis = null, Action<IServiceCollection>? services = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var upstream = await Upstream.StartAsync();
        var url = $"http://127.0.0.1:{InProcessServices.FreePort()}";
        var allSettings = new Dictionary<string, string>
        {
            ["ConnectionStrings:redis"] = redis ?? (await TestServers.RedisAsync()).ConnectionString,
            ["Auth:PublicKey"] = TestTokens.Shared.PublicKey,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Kestrel:Endpoints:http:Url"] = url,
            [FrontEndVouching.KeySetting] = FrontEndKey,
        };
        foreach (var cluster in Clusters)
        {
            allSettings[$"ReverseProxy:Clusters:{cluster}:Destinations:d1:Address"] = upstream.Url;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            allSettings[key] = value;
        }
        var factory = new WebApplicationFactory<RateLimitOptions>().WithWebHostBuilder(web =>
        {
            foreach (var (key, value) in allSettings)
            {
                web.UseSetting(key, value);
            }
            if (services is not null)
            {
                web.ConfigureTestServices(services);
            }
        });
        factory.UseKestrel();
        var host = new GatewayHost(factory, url, upstream);
        try
        {
            factory.StartServer();
        }
        catch
        {
            await host.DisposeAsync(); // a gateway refusing its settings: not the upstream left running
            throw;
        }
        return host;
    }

    /// <summary>A client the front end vouches for as <paramref name="browser"/>: its network, for the rate limiter.</summary>
    public HttpClient ClientFrom(IPAddress browser, TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(Url), Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.Add(FrontEndVouching.KeyHeader, FrontEndKey);
        client.DefaultRequestHeaders.Add(FrontEndVouching.ClientAddressHeader, browser.ToString());
        return client;
    }

    public static IPAddress AnAddress() => new(Random.Shared.NextInt64(1, uint.MaxValue));

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

/// <summary>
/// The services behind the gateway: any request is answered 200 at once, except <c>/health</c>, which never answers and
/// records when its request was cancelled (a hung service's readiness check). Each other request is recorded with its body's size.
/// </summary>
public sealed class Upstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _probeArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _probeCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<(string Path, long BodyBytes)> _received = new();

    private Upstream(WebApplication app, string url) => (_app, Url) = (app, url);

    public string Url { get; }

    public Task ProbeArrived => _probeArrived.Task;

    public Task ProbeCancelled => _probeCancelled.Task;

    /// <summary>Every request that reached the catch-all route (not <c>/health</c>): its path, and how much of its body came.</summary>
    public IReadOnlyCollection<(string Path, long BodyBytes)> Received => _received;

    public static async Task<Upstream> StartAsync()
    {
        var port = InProcessServices.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear(); // not the gateway's appsettings.json beside the tests, with its Kestrel port
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var upstream = new Upstream(app, $"http://127.0.0.1:{port}");
        app.Map("/health", async (HttpContext context) =>
        {
            upstream._probeArrived.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                upstream._probeCancelled.TrySetResult();
            }
        });
        app.Map("/{**rest}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            try
            {
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            }
            finally
            {
                upstream._received.Enqueue((context.Request.Path.Value!, body.Length)); // a body cut off too
            }
            return Results.Ok();
        });
        await app.StartAsync();
        return upstream;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
