using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using StreamBets.Web.Auth;

namespace StreamBets.Web.Live;

/// <summary>Where the gateway is for the hub connection, which does not go through HttpClientFactory's service discovery.</summary>
public sealed class GatewayAddress(IConfiguration configuration)
{
    /// <summary>Aspire hands a referenced service's address as <c>services:{name}:{endpoint}:0</c>; <c>Gateway:Url</c> overrides it.</summary>
    public Uri BaseUri { get; } = new(configuration["Gateway:Url"]
        ?? configuration["services:gateway:http:0"]
        ?? "http://localhost:5100");

    public Uri HubUri => new(BaseUri, "/hubs/live");

    public string? FrontEndKey { get; } = configuration[FrontEndVouching.KeySetting] is { Length: > 0 } key ? key : null;
}

/// <summary>
/// One SignalR connection per circuit to the Realtime hub (through the gateway), with the player's token. Components
/// subscribe to its events and say which pools and channels they watch; after a reconnect the watches are sent again
/// and <see cref="Reconnected"/> lets pages reload what they may have missed. If the hub cannot be reached it keeps
/// trying in the background and reports <see cref="LiveStatus.Offline"/>, so pages can poll meanwhile.
/// </summary>
public sealed partial class LiveUpdates(GatewayAddress gateway, UserSession session, ILogger<LiveUpdates> logger) : IAsyncDisposable
{
    private static readonly TimeSpan[] ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];
    private static readonly TimeSpan RetryStartEvery = TimeSpan.FromSeconds(10);

    // Watch counts: two components watching one channel must not unwatch it for each other.
    private readonly Dictionary<Guid, int> _pools = [];
    private readonly Dictionary<string, int> _channels = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private HubConnection? _connection;
    private Task? _starting;

    public LiveStatus Status { get; private set; } = LiveStatus.Connecting;

    public event Action? StatusChanged;
    public event Action? Reconnected;
    public event Action<OddsChangedMessage>? OddsChanged;
    public event Action<PoolStateChangedMessage>? PoolStateChanged;
    public event Action<PoolSettledMessage>? PoolSettled;
    public event Action<PoolCreatedMessage>? PoolCreated;
    public event Action<BetSettledMessage>? BetSettled;
    public event Action<WalletChangedMessage>? WalletChanged;
    public event Action<ChatMessage>? ChatReceived;
    public event Action<ChatMessageDeletedMessage>? ChatDeleted;

    /// <summary>Starts the connection once per circuit; later calls return the same attempt.</summary>
    public Task EnsureStartedAsync()
    {
        lock (_gate)
        {
            return _starting ??= StartAsync();
        }
    }

    public Task WatchPoolAsync(Guid poolId) => WatchAsync(_pools, poolId, "WatchPool");

    /// <summary>The pools some part of the circuit watches (each is sent to the hub again on every reconnect).</summary>
    internal IReadOnlyCollection<Guid> WatchedPools => _pools.Keys;

    public Task UnwatchPoolAsync(Guid poolId) => UnwatchAsync(_pools, poolId, "UnwatchPool");

    public Task WatchChannelAsync(string channel) => WatchAsync(_channels, channel, "WatchChannel");

    public Task UnwatchChannelAsync(string channel) => UnwatchAsync(_channels, channel, "UnwatchChannel");

    private async Task WatchAsync<T>(Dictionary<T, int> watches, T key, string method) where T : notnull
    {
        int count;
        lock (_gate)
        {
            count = watches[key] = watches.GetValueOrDefault(key) + 1;
        }
        if (count == 1)
        {
            await InvokeIfLiveAsync(method, key);
        }
    }

    private async Task UnwatchAsync<T>(Dictionary<T, int> watches, T key, string method) where T : notnull
    {
        int count;
        lock (_gate)
        {
            count = watches.GetValueOrDefault(key) - 1;
            if (count <= 0)
            {
                watches.Remove(key);
            }
            else
            {
                watches[key] = count;
            }
        }
        if (count == 0)
        {
            await InvokeIfLiveAsync(method, key);
        }
    }

    public async Task<IReadOnlyList<ChatMessage>> ChatHistoryAsync(string channel)
    {
        if (Status != LiveStatus.Live || _connection is null)
        {
            return [];
        }
        try
        {
            return await _connection.InvokeAsync<List<ChatMessage>>("GetChatHistory", channel, _stopping.Token);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw new HubException(ChatOffline, e);
        }
    }

    /// <summary>Sends a chat line; a refusal (too long, rate limited, muted, banned) throws a HubException with the reason.</summary>
    public async Task SendChatAsync(string channel, string text)
    {
        if (Status != LiveStatus.Live || _connection is null)
        {
            throw new HubException(ChatOffline);
        }
        try
        {
            await _connection.InvokeAsync<ChatMessage>("SendChat", channel, text, _stopping.Token);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw new HubException(ChatOffline, e);
        }
    }

    private const string ChatOffline = "Chat is offline right now.";

    /// <summary>
    /// The connection closed under a call (a Realtime restart): the client fails the call pending on it with a
    /// cancellation, and one sent just after with "not active". Thrown on, either would tear down the page's circuit.
    /// </summary>
    private static bool IsConnectionLost(Exception e) => e is InvalidOperationException or IOException or OperationCanceledException;

    private async Task StartAsync()
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(gateway.HubUri, options =>
            {
                // Called on every (re)connect, so a reconnect always carries a fresh token; anonymous visitors send none.
                options.AccessTokenProvider = () => session.AccessTokenAsync(_stopping.Token);
                // An anonymous visitor's connection is counted against this front end's budget, not its one address's.
                if (gateway.FrontEndKey is { } key)
                {
                    options.Headers[FrontEndVouching.KeyHeader] = key;
                }
            })
            .WithAutomaticReconnect(new ForeverRetryPolicy())
            .Build();

        connection.On<OddsChangedMessage>("OddsChanged", m => OddsChanged?.Invoke(m));
        connection.On<PoolStateChangedMessage>("PoolStateChanged", m => PoolStateChanged?.Invoke(m));
        connection.On<PoolSettledMessage>("PoolSettled", m => PoolSettled?.Invoke(m));
        connection.On<PoolCreatedMessage>("PoolCreated", m => PoolCreated?.Invoke(m));
        connection.On<BetSettledMessage>("BetSettled", m => BetSettled?.Invoke(m));
        connection.On<WalletChangedMessage>("WalletChanged", m => WalletChanged?.Invoke(m));
        connection.On<ChatMessage>("ChatMessage", m => ChatReceived?.Invoke(m));
        connection.On<ChatMessageDeletedMessage>("ChatMessageDeleted", m => ChatDeleted?.Invoke(m));
        connection.Reconnecting += _ =>
        {
            SetStatus(LiveStatus.Connecting);
            return Task.CompletedTask;
        };
        connection.Reconnected += async _ =>
        {
            // A new connection is in no group yet: join them again, then let pages reload what they missed.
            await RewatchAsync();
            SetStatus(LiveStatus.Live);
            Reconnected?.Invoke();
        };
        connection.Closed += error =>
        {
            SetStatus(LiveStatus.Offline);
            _ = KeepTryingAsync();
            return Task.CompletedTask;
        };
        _connection = connection;
        await KeepTryingAsync();
    }

    private async Task KeepTryingAsync()
    {
        while (!_stopping.IsCancellationRequested && _connection is { State: HubConnectionState.Disconnected } connection)
        {
            try
            {
                await connection.StartAsync(_stopping.Token);
                await RewatchAsync();
                SetStatus(LiveStatus.Live);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
            {
                LogUnavailable(logger, gateway.HubUri, e.Message);
                SetStatus(LiveStatus.Offline);
            }
            try
            {
                await Task.Delay(RetryStartEvery, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RewatchAsync()
    {
        Guid[] pools;
        string[] channels;
        lock (_gate)
        {
            (pools, channels) = ([.. _pools.Keys], [.. _channels.Keys]);
        }
        foreach (var pool in pools)
        {
            await InvokeIfLiveAsync("WatchPool", pool);
        }
        foreach (var channel in channels)
        {
            await InvokeIfLiveAsync("WatchChannel", channel);
        }
    }

    /// <summary>Joining a group twice is harmless, so a watch racing a reconnect is simply sent again.</summary>
    private async Task InvokeIfLiveAsync(string method, object argument)
    {
        if (_connection is not { State: HubConnectionState.Connected } connection)
        {
            return; // sent on (re)connect instead
        }
        try
        {
            await connection.InvokeAsync(method, argument, _stopping.Token);
        }
        catch (Exception e) when (e is HubException || IsConnectionLost(e))
        {
            LogInvokeFailed(logger, method, e.Message);
        }
    }

    private void SetStatus(LiveStatus status)
    {
        if (Status != status)
        {
            Status = status;
            StatusChanged?.Invoke();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
        _stopping.Dispose();
    }

    private sealed class ForeverRetryPolicy : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext context) =>
            ReconnectDelays[Math.Min(context.PreviousRetryCount, ReconnectDelays.Length - 1)];
    }

    [LoggerMessage(EventId = 1, EventName = "HubUnavailable", Level = LogLevel.Information, Message = "Live updates unavailable at {Hub}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, Uri hub, string reason);

    [LoggerMessage(EventId = 2, EventName = "HubInvokeFailed", Level = LogLevel.Warning, Message = "Hub method {Method} failed: {Reason}")]
    private static partial void LogInvokeFailed(ILogger logger, string method, string reason);
}
