using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using StreamBets.Realtime.Hubs;
using StreamBets.Testing;

namespace StreamBets.Realtime.Tests;

/// <summary>A real SignalR client over WebSockets that records every push it receives.</summary>
public sealed class LiveClient : IAsyncDisposable
{
    public static readonly string[] Events = ["OddsChanged", "PoolStateChanged", "PoolCreated", "PoolSettled", "BetSettled", "WalletChanged", "ChatMessage", "ChatMessageDeleted"];

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly ConcurrentQueue<(string Event, JsonElement Payload)> _received = new();

    private LiveClient(HubConnection connection)
    {
        Connection = connection;
        foreach (var name in Events)
        {
            connection.On<JsonElement>(name, payload => _received.Enqueue((name, payload)));
        }
        connection.On("Resync", () => _received.Enqueue(("Resync", default))); // no payload: "catch up on every stream"
    }

    public HubConnection Connection { get; }

    /// <param name="clientNetwork">The client's network as the gateway relays it (X-StreamBets-Client-Network); none when null.</param>
    public static async Task<LiveClient> ConnectAsync(string baseUrl, string? token, string? clientNetwork = null)
    {
        // WebSockets only, so a connection that starts is a WebSocket one. The token travels in the query string,
        // as browsers must send it on a WebSocket upgrade.
        var url = token is null ? $"{baseUrl}/hubs/live" : $"{baseUrl}/hubs/live?access_token={Uri.EscapeDataString(token)}";
        var connection = new HubConnectionBuilder()
            .WithUrl(url, options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                if (clientNetwork is not null)
                {
                    options.Headers[HubCallers.ClientNetworkHeader] = clientNetwork;
                }
            })
            .Build();
        var client = new LiveClient(connection);
        await connection.StartAsync();
        // The hub answers invocations only after OnConnectedAsync, so one round trip means the user group is joined.
        await connection.InvokeAsync<JsonElement>("GetChatPermissions", "twitch:ready");
        return client;
    }

    public IReadOnlyList<JsonElement> Received(string @event, Func<JsonElement, bool>? where = null) =>
        [.. _received.Where(r => r.Event == @event && (where?.Invoke(r.Payload) ?? true)).Select(r => r.Payload)];

    /// <summary>Waits until a push of <paramref name="event"/> matching <paramref name="where"/> arrived, and returns the first.</summary>
    public async Task<JsonElement> WaitForAsync(string @event, Func<JsonElement, bool>? where = null)
    {
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Received(@event, where).Count > 0), Patience), $"No {@event} arrived within {Patience.TotalSeconds} s");
        return Received(@event, where)[0];
    }

    public async Task WaitForCountAsync(string @event, int count, Func<JsonElement, bool>? where = null) =>
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(Received(@event, where).Count >= count), Patience),
            $"Only {Received(@event, where).Count} of {count} {@event} arrived within {Patience.TotalSeconds} s");

    public Task InvokeAsync(string method, params object?[] args) => Connection.InvokeCoreAsync(method, args);

    public Task<T> InvokeAsync<T>(string method, params object?[] args) => Connection.InvokeCoreAsync<T>(method, args);

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}

/// <summary>Reading pushed payloads.</summary>
public static class Payload
{
    public static Guid Guid(this JsonElement payload, string property) => payload.GetProperty(property).GetGuid();

    public static string Text(this JsonElement payload, string property) => payload.GetProperty(property).GetString()!;

    public static long Number(this JsonElement payload, string property) => payload.GetProperty(property).GetInt64();

    public static bool About(this JsonElement payload, Guid poolId) => payload.TryGetProperty("poolId", out var id) && id.GetGuid() == poolId;
}

/// <summary>The hub's refusals arrive as "An unexpected error occurred invoking 'X' on the server. HubException: code: message".</summary>
public static class Refusal
{
    public static string Code(Microsoft.AspNetCore.SignalR.HubException refused)
    {
        // An error SignalR sent itself (say, for an argument it could not bind) has no code: show it as it came.
        Assert.Contains("HubException: ", refused.Message, StringComparison.Ordinal);
        var text = refused.Message[(refused.Message.IndexOf("HubException: ", StringComparison.Ordinal) + "HubException: ".Length)..];
        return text[..text.IndexOf(':', StringComparison.Ordinal)];
    }
}
