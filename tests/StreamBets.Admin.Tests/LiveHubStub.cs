using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StreamBets.Admin.Tests;

/// <summary>
/// Realtime's live hub as the console meets it through the gateway: <c>/hubs/live</c> on a real Kestrel port, reached
/// over a real SignalR WebSocket, with Realtime's two admin methods and their parameters (JSON values). It records each
/// call with the bearer token it came with, and refuses as Realtime's refusal filter does (a HubException
/// "code: text") when told to. The real hub's own rules are tested in StreamBets.Realtime.Tests (DemotedStreamerTests).
/// </summary>
public sealed class LiveHubStub : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LiveHubStub(WebApplication app) => _app = app;

    public ConcurrentQueue<HubCall> Calls { get; } = new();

    /// <summary>The refusal the next calls get, "code: text" as Realtime sends it; null to take them.</summary>
    public string? Refusal { get; set; }

    /// <summary>The bearer token of each connection attempt, in order.</summary>
    public ConcurrentQueue<string> Connections { get; } = new();

    /// <summary>Connection attempts are answered 401, as Realtime answers a token it does not take.</summary>
    public bool RefusesTokens { get; set; }

    /// <summary>Connection attempts are taken in and never answered: a network gone silent before the call is sent.</summary>
    public bool ConnectsSilently { get; set; }

    /// <summary>Calls are recorded and never answered: a network gone silent after the call was sent.</summary>
    public bool AnswersNoCalls { get; set; }

    /// <summary>What the console is configured with as the gateway's address.</summary>
    public Uri GatewayUri => new(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());

    public static async Task<LiveHubStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSignalR();
        var holder = new Holder();
        builder.Services.AddSingleton(holder);
        var app = builder.Build();
        var stub = holder.Stub = new LiveHubStub(app);
        app.Use(async (context, next) =>
        {
            stub.Connections.Enqueue(context.Request.Headers.Authorization.ToString());
            if (stub.ConnectsSilently)
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }
            if (stub.RefusesTokens)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            await next(context);
        });
        app.UseWebSockets();
        app.MapHub<Hub>("/hubs/live");
        await app.StartAsync();
        return stub;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    public sealed record HubCall(string Method, string? Authorization, IReadOnlyList<string?> Arguments);

    private sealed class Hub : Microsoft.AspNetCore.SignalR.Hub
    {
        public Task SetChannelStreamer(JsonElement channel, JsonElement userId) => Take(nameof(SetChannelStreamer), channel, userId);

        public Task ClearChannelStreamer(JsonElement channel) => Take(nameof(ClearChannelStreamer), channel);

        private Task Take(string method, params JsonElement[] arguments)
        {
            var stub = Context.GetHttpContext()!.RequestServices.GetRequiredService<Holder>().Stub!;
            stub.Calls.Enqueue(new HubCall(method, Context.GetHttpContext()!.Request.Headers.Authorization.ToString(),
                [.. arguments.Select(a => a.ValueKind == JsonValueKind.String ? a.GetString() : a.GetRawText())]));
            return stub.AnswersNoCalls ? Task.Delay(Timeout.Infinite, Context.ConnectionAborted)
                : stub.Refusal is { } refusal ? throw new HubException(refusal) : Task.CompletedTask;
        }
    }

    private sealed class Holder
    {
        public LiveHubStub? Stub { get; set; }
    }
}
