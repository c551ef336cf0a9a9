using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The Realtime hub's contract on a real Kestrel port, for the web app's <see cref="LiveUpdates"/>: it records the calls
/// the client makes, pushes what a test says to every connection, and answers CatchUp from every message numbered so
/// far, pushed or not (as Realtime's replay does), or with catch-up-gap for a stream it was told to forget or asked
/// after a number it has not handed out (a counter that went back). It takes chat lines, and can refuse a call as one
/// too many or with any other refusal. It records the requests that reach it.
/// </summary>
public sealed class StandInHub : IAsyncDisposable
{
    private WebApplication _app = null!;
    private readonly List<(string Type, LiveMessage Payload)> _numbered = [];
    private readonly ConcurrentDictionary<string, bool> _forgotten = new();
    private readonly ConcurrentDictionary<string, HubCallerContext> _connections = new();
    private readonly ConcurrentDictionary<string, List<ChatMessage>> _chatHistory = new();
    private readonly ConcurrentQueue<string> _calls = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentDictionary<string, (int Left, string Refusal)> _refusals = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new();
    private const string RateLimited = "rate-limited: Slow down: at most 250 watch, catch-up and chat history calls at once, then 5 a second. Try again in 1 s.";

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
        hub._app.Use((context, next) =>
        {
            var request = context.Request;
            var webSocket = request.Headers.Upgrade == "websocket" ? " (WebSocket)" : "";
            var vouched = request.Headers.ContainsKey(FrontEndVouching.KeyHeader) ? " vouched" : "";
            var bearer = request.Headers.Authorization is { Count: > 0 } authorization ? $" {authorization}" : "";
            hub._requests.Enqueue($"{request.Method} {request.Path}{webSocket}{vouched}{bearer}");
            if (hub.RefusesConnections)
            {
                // As Realtime answers a token it does not accept: 401 before the hub.
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            }
            return next(context);
        });
        hub._app.MapHub<LiveHub>("/hubs/live");
        await hub._app.StartAsync();
        return hub;
    }

    /// <summary>The HTTP requests that reached it: "POST /hubs/live/negotiate", "GET /hubs/live (WebSocket) vouched" (with
    /// the front end's key header), "... Bearer access-1" (with a token)...</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>"WatchPool {id}", "CatchUp {stream} {after}" and so on, in the order the client called.</summary>
    public IReadOnlyList<string> Calls => [.. _calls];

    /// <summary>Numbers a message and pushes it.</summary>
    public async Task PushAsync(string type, LiveMessage message)
    {
        Keep(type, message);
        await _app.Services.GetRequiredService<IHubContext<LiveHub>>().Clients.All.SendAsync(type, message);
    }

    /// <summary>Says "Resync" (no arguments) to every connection, as a replica does once its Redis backplane is back after a loss.</summary>
    public async Task ResyncAsync() => await _app.Services.GetRequiredService<IHubContext<LiveHub>>().Clients.All.SendAsync("Resync");

    /// <summary>Numbers a message whose push is lost: only CatchUp brings it.</summary>
    public void Keep(string type, LiveMessage message)
    {
        lock (_numbered)
        {
            _numbered.Add((type, message));
        }
    }

    /// <summary>What GetChatHistory answers for the channel from now on (nothing until told).</summary>
    public void ChatHistoryIs(string channel, params ChatMessage[] messages) => _chatHistory[channel] = [.. messages];

    /// <summary>The stream's replay is gone (over 15 minutes or 200 messages): CatchUp refuses it.</summary>
    public void Forget(string stream) => _forgotten[stream] = true;

    /// <summary>Redis lost the stream's latest writes: its counter and replay go back to <paramref name="sequence"/>.</summary>
    public void GoBack(string stream, long sequence)
    {
        lock (_numbered)
        {
            _numbered.RemoveAll(m => m.Payload.Stream == stream && m.Payload.Sequence > sequence);
        }
    }

    /// <summary>
    /// The next <paramref name="times"/> calls of the method are refused with <paramref name="refusal"/> ("code: text", as
    /// Realtime words them); by default as the hub's read-call budget refuses them.
    /// </summary>
    public void RefuseNext(string method, int times = 1, string refusal = RateLimited) => _refusals[method] = (times, refusal);

    /// <summary>The next watch or unwatch calls of the method wait until the returned release, as a slow replica's.</summary>
    public Action Hold(string method)
    {
        var held = _held[method] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return () =>
        {
            _held.TryRemove(method, out _);
            held.SetResult();
        };
    }

    /// <summary>While set, every connection attempt is answered 401, as Realtime answers a token it refuses.</summary>
    public bool RefusesConnections { get; set; }

    /// <summary>Drops every connection, as a replica's restart does; the clients reconnect by themselves.</summary>
    public void DropConnections()
    {
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }
    }

    /// <summary>
    /// Breaks every connection's socket with no closing word, as a crashed replica or a lost network does: the clients
    /// reconnect by their retry policy (a dropped connection, which the hub closes, they start again instead).
    /// </summary>
    public void BreakConnections()
    {
        foreach (var connection in _connections.Values)
        {
            connection.GetHttpContext()?.Abort();
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

        public Task WatchPool(Guid poolId) => CallHeldAsync($"WatchPool {poolId}");

        public Task UnwatchPool(Guid poolId) => CallHeldAsync($"UnwatchPool {poolId}");

        public Task WatchChannel(string channel) => CallHeldAsync($"WatchChannel {channel}");

        public Task UnwatchChannel(string channel) => CallHeldAsync($"UnwatchChannel {channel}");

        public List<ChatMessage> GetChatHistory(string channel)
        {
            Call($"GetChatHistory {channel}");
            return _owner._chatHistory.TryGetValue(channel, out var history) ? history : [];
        }

        public ChatMessage SendChatOnce(string channel, string text, string clientMessageId)
        {
            Call($"SendChatOnce {channel} {text} {clientMessageId}");
            return new ChatMessage(Guid.NewGuid().ToString(), channel, null, "Ana", text, DateTimeOffset.UtcNow);
        }

        public List<Replayed> CatchUp(string stream, long afterSequence)
        {
            Call($"CatchUp {stream} {afterSequence}");
            lock (_owner._numbered)
            {
                var numbered = _owner._numbered.Where(m => m.Payload.Stream == stream).ToList();
                if (_owner._forgotten.ContainsKey(stream) || afterSequence > numbered.Select(m => m.Payload.Sequence).DefaultIfEmpty(0).Max())
                {
                    throw new HubException($"catch-up-gap: Some messages of {stream} after {afterSequence} are no longer kept.");
                }
                return [.. numbered.Where(m => m.Payload.Sequence > afterSequence).OrderBy(m => m.Payload.Sequence).Select(m => new Replayed(m.Type, m.Payload))];
            }
        }

        /// <summary>Records the call (or refuses it), and answers once a hold on its method is released.</summary>
        private Task CallHeldAsync(string call)
        {
            Call(call);
            return _owner._held.TryGetValue(call[..call.IndexOf(' ')], out var held) ? held.Task : Task.CompletedTask;
        }

        /// <summary>Records the call, or refuses it when told to.</summary>
        private void Call(string call)
        {
            _owner._calls.Enqueue(call);
            var method = call[..call.IndexOf(' ')];
            if (_owner._refusals.TryGetValue(method, out var told) && told.Left > 0 && _owner._refusals.TryUpdate(method, told with { Left = told.Left - 1 }, told))
            {
                throw new HubException(told.Refusal);
            }
        }
    }

    /// <summary>As Realtime answers CatchUp: the event's name and exactly what it delivered live.</summary>
    public sealed record Replayed(string Type, object Payload);
}
