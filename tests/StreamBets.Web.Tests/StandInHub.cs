using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The Realtime hub's contract on a real Kestrel port, for the web app's <see cref="LiveUpdates"/>: it records the calls
/// the client makes, pushes what a test says to every connection, and answers CatchUp from every message numbered so
/// far, pushed or not (as Realtime's replay does), or with catch-up-gap for a stream it was told to forget.
/// </summary>
public sealed class StandInHub : IAsyncDisposable
{
    private WebApplication _app = null!;
    private readonly List<(string Type, LiveMessage Payload)> _numbered = [];
    private readonly ConcurrentDictionary<string, bool> _forgotten = new();
    private readonly ConcurrentDictionary<string, HubCallerContext> _connections = new();
    private readonly ConcurrentQueue<string> _calls = new();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<StandInHub> StartAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        // The test's output holds the web app's appsettings.json, whose Kestrel endpoint (localhost:5200) two stand-ins
        // running at once would both bind: this one reads no configuration files.
        builder.Configuration.Sources.Clear();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        builder.Services.AddSignalR();
        var hub = new StandInHub();
        builder.Services.AddSingleton(hub);
        hub._app = builder.Build();
        hub._app.MapHub<LiveHub>("/hubs/live");
        await hub._app.StartAsync();
        return hub;
    }

    /// <summary>"WatchPool {id}", "CatchUp {stream} {after}" and so on, in the order the client called.</summary>
    public IReadOnlyList<string> Calls => [.. _calls];

    /// <summary>Numbers a message and pushes it.</summary>
    public async Task PushAsync(string type, LiveMessage message)
    {
        Keep(type, message);
        await _app.Services.GetRequiredService<IHubContext<LiveHub>>().Clients.All.SendAsync(type, message);
    }

    /// <summary>Numbers a message whose push is lost: only CatchUp brings it.</summary>
    public void Keep(string type, LiveMessage message)
    {
        lock (_numbered)
        {
            _numbered.Add((type, message));
        }
    }

    /// <summary>The stream's replay is gone (over 15 minutes or 200 messages): CatchUp refuses it.</summary>
    public void Forget(string stream) => _forgotten[stream] = true;

    /// <summary>Drops every connection, as a replica's restart does; the clients reconnect by themselves.</summary>
    public void DropConnections()
    {
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private sealed class LiveHub(StandInHub owner) : Hub
    {
        private readonly StandInHub _owner = owner;

        public override Task OnConnectedAsync()
        {
            _owner._connections[Context.ConnectionId] = Context;
            return Task.CompletedTask;
        }

        public override Task OnDisconnectedAsync(Exception? exception)
        {
            _owner._connections.TryRemove(Context.ConnectionId, out _);
            return Task.CompletedTask;
        }

        public void WatchPool(Guid poolId) => _owner._calls.Enqueue($"WatchPool {poolId}");

        public void UnwatchPool(Guid poolId) => _owner._calls.Enqueue($"UnwatchPool {poolId}");

        public void WatchChannel(string channel) => _owner._calls.Enqueue($"WatchChannel {channel}");

        public void UnwatchChannel(string channel) => _owner._calls.Enqueue($"UnwatchChannel {channel}");

        public List<Replayed> CatchUp(string stream, long afterSequence)
        {
            _owner._calls.Enqueue($"CatchUp {stream} {afterSequence}");
            if (_owner._forgotten.ContainsKey(stream))
            {
                throw new HubException($"catch-up-gap: Some messages of {stream} after {afterSequence} are no longer kept.");
            }
            lock (_owner._numbered)
            {
                return [.. _owner._numbered.Where(m => m.Payload.Stream == stream && m.Payload.Sequence > afterSequence)
                    .OrderBy(m => m.Payload.Sequence).Select(m => new Replayed(m.Type, m.Payload))];
            }
        }
    }

    /// <summary>As Realtime answers CatchUp: the event's name and exactly what it delivered live.</summary>
    public sealed record Replayed(string Type, object Payload);
}
