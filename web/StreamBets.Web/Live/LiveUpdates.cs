using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Web.Auth;

namespace StreamBets.Web.Live;

/// <summary>
/// One SignalR connection per circuit to the Realtime hub (through the gateway), with the player's token. Components
/// subscribe to its events and say which pools and channels they watch. Each event is raised once, in the order it
/// comes: a duplicate is dropped, and messages a stream skipped are asked for with CatchUp when they do not follow
/// within a second (docs/realtime.md, "Sequences and catching up"). After a reconnect the watches are sent again, each
/// stream is caught up, and <see cref="ReloadNeeded"/> lets pages read again what no stream can replay; so it does after
/// the first connect when pages read before it (their watches and the user's group were joined only then). A "Resync"
/// from the hub (its Redis backplane back after a loss) has each stream caught up too. If the hub cannot be reached it
/// keeps trying in the background and reports <see cref="LiveStatus.Offline"/>, so pages can poll meanwhile. It stops
/// only when the player's session has ended (see <see cref="TokenForAttemptAsync"/>).
/// </summary>
public sealed partial class LiveUpdates : IAsyncDisposable
{
    /// <summary>
    /// The wait before each reconnect attempt (the last for every one after it), a random point in its range: after a
    /// Realtime restart a replica's circuits must not all reconnect, and refresh their tokens, at the same instant.
    /// </summary>
    internal static readonly (TimeSpan From, TimeSpan To)[] ReconnectWaits =
    [
        (TimeSpan.Zero, TimeSpan.FromSeconds(2)),
        (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)),
        (TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(7.5)),
        (TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15)),
    ];
    /// <summary>The wait between attempts to start (again, after the connection closed), spread likewise.</summary>
    private static readonly (TimeSpan From, TimeSpan To) RetryStartWait = (TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15));
    /// <summary>How long skipped messages may take to arrive by themselves before CatchUp is asked for them.</summary>
    internal static readonly TimeSpan GapWait = TimeSpan.FromSeconds(1);
    /// <summary>Reloads asked for within this long of the last one are raised once, at its end.</summary>
    internal static readonly TimeSpan ReloadWindow = TimeSpan.FromSeconds(1);
    /// <summary>When a watch or catch-up the hub refused as too many (rate-limited) is sent again.</summary>
    internal static readonly TimeSpan RefusedRetryAfter = TimeSpan.FromSeconds(1);
    private static readonly JsonSerializerOptions Payloads = new(JsonSerializerDefaults.Web);

    private readonly LiveHubAddress _gateway;
    private readonly UserSession _session;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger<LiveUpdates> _logger;
    // Each event the hub pushes, and CatchUp replays, by name: read its payload (and whether it was pushed) and raise it if it is new.
    private readonly Dictionary<string, Action<JsonElement, bool>> _events;
    private readonly StreamSequences _sequences = new();
    // Streams with a catch-up due after GapWait, one at a time each, and whether it is due even with no gap left.
    private readonly Dictionary<string, bool> _catchUpsDue = new(StringComparer.Ordinal);

    // Watch counts: two components watching one channel must not unwatch it for each other.
    private readonly Dictionary<Guid, int> _pools = [];
    private readonly Dictionary<string, int> _channels = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private HubConnection? _connection;
    private Task? _starting;
    // Reloads are coalesced (a page's reload is several REST calls, and the gateway allows 50 a second per user): none is
    // raised for a stream during a resync, which raises one at its end, and at most one per ReloadWindow otherwise.
    private int _resyncs;
    private DateTimeOffset _reloadQuietUntil = DateTimeOffset.MinValue;
    private bool _reloadOwed;
    // The token the last connect attempt carried, and the one Realtime refused (401), which the next attempt must not carry.
    private volatile string? _tokenSent;
    private string? _tokenRefused;
    private volatile bool _sessionEnded;

    public LiveUpdates(LiveHubAddress gateway, UserSession session, TimeProvider time, ILogger<LiveUpdates> logger)
        : this(gateway, session, time, Random.Shared, logger)
    {
    }

    /// <param name="random">Spreads the waits between attempts; a seeded one makes them repeatable in tests.</param>
    internal LiveUpdates(LiveHubAddress gateway, UserSession session, TimeProvider time, Random random, ILogger<LiveUpdates> logger)
    {
        (_gateway, _session, _time, _random, _logger) = (gateway, session, time, random, logger);
        _events = new(StringComparer.Ordinal)
        {
            ["OddsChanged"] = Raise<OddsChangedMessage>(m => OddsChanged?.Invoke(m)),
            ["PoolStateChanged"] = Raise<PoolStateChangedMessage>(m => PoolStateChanged?.Invoke(m)),
            ["PoolSettled"] = Raise<PoolSettledMessage>(m => PoolSettled?.Invoke(m)),
            ["PoolCreated"] = Raise<PoolCreatedMessage>(m => PoolCreated?.Invoke(m)),
            ["BetSettled"] = Raise<BetSettledMessage>(m => BetSettled?.Invoke(m)),
            ["WalletChanged"] = Raise<WalletChangedMessage>(m => WalletChanged?.Invoke(m)),
            ["ChatMessage"] = Raise<ChatMessage>(m => ChatReceived?.Invoke(m)),
            ["ChatMessageDeleted"] = Raise<ChatMessageDeletedMessage>(m => ChatDeleted?.Invoke(m)),
        };
    }

    public LiveStatus Status { get; private set; } = LiveStatus.Connecting;

    public event Action? StatusChanged;
    /// <summary>
    /// Pushes may have been missed that no stream can replay (after a reconnect, a first connect made after pages read,
    /// or a catch-up asked too late): pages read again what they show.
    /// </summary>
    public event Action? ReloadNeeded;
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

    public Task UnwatchPoolAsync(Guid poolId) => UnwatchAsync(_pools, poolId, "UnwatchPool", $"pool:{poolId}");

    public Task WatchChannelAsync(string channel) => WatchAsync(_channels, channel, "WatchChannel");

    public Task UnwatchChannelAsync(string channel) => UnwatchAsync(_channels, channel, "UnwatchChannel", ChannelStream(channel));

    /// <summary>The hub's name for a channel's stream: "channel:" and the channel with its provider in lower case.</summary>
    private static string ChannelStream(string channel) =>
        channel.IndexOf(':') is > 0 and var colon ? $"channel:{channel[..colon].ToLowerInvariant()}{channel[colon..]}" : $"channel:{channel}";

    private async Task WatchAsync<T>(Dictionary<T, int> watches, T key, string method) where T : notnull
    {
        int count;
        lock (_gate)
        {
            count = watches[key] = watches.GetValueOrDefault(key) + 1;
        }
        if (count == 1)
        {
            await InvokeIfLiveAsync(method, key, () => IsWatched(watches, key));
        }
    }

    private async Task UnwatchAsync<T>(Dictionary<T, int> watches, T key, string method, string stream) where T : notnull
    {
        int count;
        lock (_gate)
        {
            count = watches.GetValueOrDefault(key) - 1;
            if (count <= 0)
            {
                watches.Remove(key);
                // Watched again later, the stream starts over from the page's read: what came between is not missed.
                _sequences.Forget(stream);
            }
            else
            {
                watches[key] = count;
            }
        }
        if (count == 0)
        {
            await InvokeIfLiveAsync(method, key, () => !IsWatched(watches, key));
        }
    }

    private bool IsWatched<T>(Dictionary<T, int> watches, T key) where T : notnull
    {
        lock (_gate)
        {
            return watches.ContainsKey(key);
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

    /// <summary>
    /// Sends a chat line; a refusal (too long, rate limited, muted, banned) throws a HubException with the reason. The same
    /// <paramref name="clientMessageId"/> sent again (the first answer lost, say) is answered with the line stored the
    /// first time, so a retry is never a second line.
    /// </summary>
    public async Task SendChatAsync(string channel, string text, Guid clientMessageId)
    {
        if (Status != LiveStatus.Live || _connection is null)
        {
            throw new HubException(ChatOffline);
        }
        try
        {
            await _connection.InvokeAsync<ChatMessage>("SendChatOnce", channel, text, clientMessageId.ToString(), _stopping.Token);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw new HubException(ChatOffline, e);
        }
    }

    // Coded as the hub's refusals are ("code: text"), so the page words it as it words theirs.
    private const string ChatOffline = ChatRefusal.Offline + ": Chat is offline right now.";

    /// <summary>
    /// The connection closed under a call (a Realtime restart): the client fails the call pending on it with a
    /// cancellation, and one sent just after with "not active". Thrown on, either would tear down the page's circuit.
    /// </summary>
    private static bool IsConnectionLost(Exception e) => e is InvalidOperationException or IOException or OperationCanceledException;

    private async Task StartAsync()
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(_gateway.HubUri, options =>
            {
                // One request, the WebSocket, so it needs no stickiness: with negotiate first, the gateway could send the
                // two to different Realtime replicas, and the second would be refused ("No Connection with that ID").
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
                // Called on every (re)connect, so a reconnect always carries a fresh token; anonymous visitors send none.
                // A token that expired while Users could not refresh it throws instead: the attempt fails (the page shows
                // no "Live") and is tried again later. Sent, the hub would refuse it, or once took the player as anonymous.
                options.AccessTokenProvider = TokenForAttemptAsync;
                // An anonymous visitor's connection is counted against this front end's budget, not its one address's.
                if (_gateway.FrontEndKey is { } key)
                {
                    options.Headers[FrontEndVouching.KeyHeader] = key;
                }
            })
            .WithAutomaticReconnect(new ForeverRetryPolicy(this))
            .Build();

        foreach (var name in _events.Keys)
        {
            connection.On(name, [typeof(JsonElement)], (arguments, _) =>
            {
                Receive(name, (JsonElement)arguments[0]!);
                return Task.CompletedTask;
            }, state: null!);
        }
        connection.On("Resync", CatchUpEveryStream);
        connection.Reconnecting += _ =>
        {
            SetStatus(LiveStatus.Connecting);
            return Task.CompletedTask;
        };
        connection.Reconnected += async _ =>
        {
            // A new connection is in no group yet: join them again, then catch up on what was missed.
            await RewatchAsync();
            SetStatus(LiveStatus.Live);
            await ResyncAsync();
        };
        connection.Closed += error =>
        {
            SetStatus(LiveStatus.Offline);
            if (_sessionEnded)
            {
                return Task.CompletedTask; // the page signs the player out
            }
            _ = KeepTryingAsync(afterOutage: true);
            return Task.CompletedTask;
        };
        _connection = connection;
        await KeepTryingAsync(afterOutage: false);
    }

    /// <param name="afterOutage">The hub was unreachable or the connection closed: pushes may have been missed.</param>
    private async Task KeepTryingAsync(bool afterOutage)
    {
        // A close (a Realtime replica shutting down) reaches every circuit of this replica at once: the first attempt
        // is spread as a reconnect's is, or they would all start again, and refresh their tokens, in the same instant.
        if (afterOutage && !await WaitAsync(ReconnectWait(previousAttempts: 0)))
        {
            return;
        }
        while (!_stopping.IsCancellationRequested && !_sessionEnded && _connection is { State: HubConnectionState.Disconnected } connection)
        {
            try
            {
                await connection.StartAsync(_stopping.Token);
                await RewatchAsync();
                SetStatus(LiveStatus.Live);
                // Pages read before the first connect (the circuit's first render starts it): what was pushed between
                // their read and the groups joined just now reached nobody. A page that reads listens for ReloadNeeded,
                // so with none listening there is nothing to read again.
                if (afterOutage || ReloadNeeded is not null)
                {
                    await ResyncAsync();
                }
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
            {
                LogUnavailable(_logger, _gateway.HubUri, e.Message);
                SetStatus(LiveStatus.Offline);
                afterOutage = true;
                AttemptFailed(e);
            }
            if (_sessionEnded || !await WaitAsync(Spread(RetryStartWait)))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The token for a connect or reconnect attempt. Realtime refusing the last one (401) before its expiry means its
    /// session was likely revoked elsewhere (a logout on another device, the session time limit, an admin ending every
    /// session), so the next comes from the session's refused-token path: refreshed at once or, when Users says the
    /// session is over, <see cref="UserSession.Ended"/> is raised (the page signs the player out) and this attempt fails,
    /// the last one. Sent again, the refused token would be refused every 5-15 s until it expired.
    /// </summary>
    private async Task<string?> TokenForAttemptAsync()
    {
        var refused = Interlocked.Exchange(ref _tokenRefused, null);
        var token = refused is null
            ? await _session.AccessTokenAsync(_stopping.Token)
            : await _session.TokenRefusedAsync(refused, _stopping.Token);
        if (refused is not null && token is null)
        {
            _sessionEnded = true;
            throw new SessionEndedException();
        }
        _tokenSent = token;
        return token;
    }

    /// <summary>A (re)connect attempt failed: when Realtime refused its token, the next attempt does not carry it again.</summary>
    private void AttemptFailed(Exception? error)
    {
        if (LiveHubAddress.IsTokenRefused(error) && _tokenSent is { } sent)
        {
            Volatile.Write(ref _tokenRefused, sent);
        }
    }

    private sealed class SessionEndedException() : Exception("The player's session has ended: live updates stop until they sign in again.");

    /// <summary>A push: raised unless it was applied already.</summary>
    internal void Receive(string name, JsonElement payload) => _events[name](payload, true);

    private Action<JsonElement, bool> Raise<T>(Action<T> raise) where T : LiveMessage => (payload, pushed) =>
    {
        var message = payload.Deserialize<T>(Payloads)!;
        bool isNew, gapOpened;
        lock (_gate)
        {
            isNew = _sequences.Accept(message.Stream, message.Sequence, out gapOpened);
        }
        if (!isNew)
        {
            // A number pushed again: a redelivered event, or the stream's counter went back (Redis lost its latest writes)
            // and hands out numbers this circuit took for old. CatchUp after the highest tells which: a counter below it
            // is a catch-up-gap, and pages read again. (CatchUp replays what was applied already: no doubt there.)
            if (pushed)
            {
                CatchUpSoon(message.Stream, evenWithoutGap: true);
            }
            return;
        }
        if (gapOpened)
        {
            CatchUpSoon(message.Stream, evenWithoutGap: false);
        }
        raise(message);
    };

    /// <summary>
    /// Skipped messages usually follow at once (another replica's, a redelivery); if not, CatchUp brings them after
    /// <see cref="GapWait"/>. Asked for again meanwhile, the stream's catch-up is not doubled.
    /// </summary>
    private void CatchUpSoon(string stream, bool evenWithoutGap)
    {
        lock (_gate)
        {
            var alreadyDue = _catchUpsDue.TryGetValue(stream, out var due);
            _catchUpsDue[stream] = due || evenWithoutGap;
            if (alreadyDue)
            {
                return;
            }
        }
        _ = CatchUpLaterAsync(stream);
    }

    private async Task CatchUpLaterAsync(string stream)
    {
        if (!await WaitAsync(GapWait))
        {
            return;
        }
        bool due;
        lock (_gate)
        {
            _catchUpsDue.Remove(stream, out var evenWithoutGap);
            due = evenWithoutGap || _sequences.HasGap(stream);
        }
        if (due)
        {
            await CatchUpAsync(stream);
        }
    }

    /// <summary>
    /// The hub's "Resync": the replica's Redis backplane is back after a loss, so what other replicas pushed meanwhile
    /// never reached this connection. A lost push that was the last of its stream leaves no gap to notice, so every
    /// stream heard from catches up (after its highest, or before its first gap). The connection stayed up: its groups
    /// hold, and no reload is due unless a catch-up fails.
    /// </summary>
    private void CatchUpEveryStream()
    {
        string[] streams;
        lock (_gate)
        {
            streams = [.. _sequences.Streams];
        }
        foreach (var stream in streams)
        {
            CatchUpSoon(stream, evenWithoutGap: true);
        }
    }

    /// <summary>After a new connection: every stream catches up on what it missed, then pages read what no stream replays.</summary>
    private async Task ResyncAsync()
    {
        string[] streams;
        lock (_gate)
        {
            _resyncs++;
            streams = [.. _sequences.Streams];
        }
        try
        {
            foreach (var stream in streams)
            {
                await CatchUpAsync(stream);
            }
        }
        finally
        {
            lock (_gate)
            {
                _resyncs--;
                _reloadQuietUntil = _time.GetUtcNow() + ReloadWindow;
            }
        }
        ReloadNeeded?.Invoke();
    }

    /// <summary>
    /// A stream could not be caught up: pages read again, once for every stream that says so together (after Redis lost
    /// the replays, each watched stream does). Raised at once, then at most once more at the end of the window, for the
    /// streams that came after the first read may hold what it did not see.
    /// </summary>
    private void NeedReload()
    {
        TimeSpan wait;
        lock (_gate)
        {
            if (_resyncs > 0 || _reloadOwed)
            {
                return; // the resync's own reload, or the one owed, comes after this
            }
            var now = _time.GetUtcNow();
            wait = _reloadQuietUntil - now;
            if (wait <= TimeSpan.Zero)
            {
                _reloadQuietUntil = now + ReloadWindow;
            }
            else
            {
                _reloadOwed = true;
            }
        }
        if (wait <= TimeSpan.Zero)
        {
            ReloadNeeded?.Invoke();
        }
        else
        {
            _ = ReloadAfterAsync(wait);
        }
    }

    private async Task ReloadAfterAsync(TimeSpan wait)
    {
        if (!await WaitAsync(wait))
        {
            return;
        }
        lock (_gate)
        {
            _reloadOwed = false;
            _reloadQuietUntil = _time.GetUtcNow() + ReloadWindow;
        }
        ReloadNeeded?.Invoke();
    }

    private async Task CatchUpAsync(string stream)
    {
        long? after;
        lock (_gate)
        {
            after = _sequences.CatchUpAfter(stream);
        }
        if (after is null || _connection is not { State: HubConnectionState.Connected } connection)
        {
            return; // forgotten meanwhile, or caught up on the next connect
        }
        try
        {
            var missed = await connection.InvokeAsync<List<ReplayedMessage>>("CatchUp", stream, after.Value, _stopping.Token);
            foreach (var message in missed.Where(m => _events.ContainsKey(m.Type)))
            {
                _events[message.Type](message.Payload, false);
            }
        }
        catch (HubException e) when (e.Message.Contains("catch-up-gap", StringComparison.Ordinal))
        {
            // No longer kept: the stream starts over from its next message, and pages read the current state.
            lock (_gate)
            {
                _sequences.Forget(stream);
            }
            NeedReload();
        }
        catch (HubException e) when (IsRateLimited(e))
        {
            LogInvokeFailed(_logger, "CatchUp", e.Message);
            CatchUpSoon(stream, evenWithoutGap: true);
        }
        catch (Exception e) when (e is HubException || IsConnectionLost(e))
        {
            LogInvokeFailed(_logger, "CatchUp", e.Message);
        }
    }

    private sealed record ReplayedMessage(string Type, JsonElement Payload);

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
            await InvokeIfLiveAsync("WatchPool", pool, () => IsWatched(_pools, pool));
        }
        foreach (var channel in channels)
        {
            await InvokeIfLiveAsync("WatchChannel", channel, () => IsWatched(_channels, channel));
        }
    }

    /// <summary>
    /// Joining a group twice is harmless, so a watch racing a reconnect is simply sent again. A call the hub refused as
    /// one too many (rate-limited) is sent again after <see cref="RefusedRetryAfter"/>, for as long as it is
    /// <paramref name="stillWanted"/>: unsent, a watch would leave its page without pushes, an unwatch a connection in
    /// a group it counts against its limit. Whether the hub took the call.
    /// </summary>
    private async Task<bool> InvokeIfLiveAsync(string method, object argument, Func<bool> stillWanted)
    {
        if (_connection is not { State: HubConnectionState.Connected } connection)
        {
            return false; // sent on (re)connect instead
        }
        try
        {
            await connection.InvokeAsync(method, argument, _stopping.Token);
            return true;
        }
        catch (HubException e) when (IsRateLimited(e))
        {
            LogInvokeFailed(_logger, method, e.Message);
            _ = SendAgainLaterAsync(method, argument, stillWanted);
        }
        catch (Exception e) when (e is HubException || IsConnectionLost(e))
        {
            LogInvokeFailed(_logger, method, e.Message);
        }
        return false;
    }

    private async Task SendAgainLaterAsync(string method, object argument, Func<bool> stillWanted)
    {
        if (!await WaitAsync(RefusedRetryAfter))
        {
            return;
        }
        if (!stillWanted())
        {
            return;
        }
        if (await InvokeIfLiveAsync(method, argument, stillWanted) && method.StartsWith("Watch", StringComparison.Ordinal))
        {
            NeedReload(); // the page read before the watch took: what was pushed in between reached nobody
        }
    }

    /// <summary>Waits on the circuit's clock; false when the circuit is closing meanwhile.</summary>
    private async Task<bool> WaitAsync(TimeSpan wait)
    {
        try
        {
            await Task.Delay(wait, _time, _stopping.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static bool IsRateLimited(HubException e) => e.Message.Contains("rate-limited:", StringComparison.Ordinal);

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

    /// <summary>The wait before a reconnect attempt after <paramref name="previousAttempts"/> failed ones.</summary>
    internal TimeSpan ReconnectWait(int previousAttempts) => Spread(ReconnectWaits[Math.Min(previousAttempts, ReconnectWaits.Length - 1)]);

    private TimeSpan Spread((TimeSpan From, TimeSpan To) range)
    {
        lock (_random) // Random.Shared is thread-safe, a seeded Random is not
        {
            return range.From + (range.To - range.From) * _random.NextDouble();
        }
    }

    /// <summary>
    /// Gives up only when the player's session has ended: whatever else failed an attempt (no answer, a 401 for a token
    /// Realtime refused, whose next attempt gets a refreshed one, a token Users could not refresh) may pass, and the page
    /// shows "connecting" meanwhile. <see cref="RetryContext.RetryReason"/> is the last attempt's failure.
    /// </summary>
    private sealed class ForeverRetryPolicy(LiveUpdates live) : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext context)
        {
            live.AttemptFailed(context.RetryReason);
            return live._sessionEnded ? null : live.ReconnectWait((int)Math.Min(context.PreviousRetryCount, int.MaxValue));
        }
    }

    [LoggerMessage(EventId = 1, EventName = "HubUnavailable", Level = LogLevel.Information, Message = "Live updates unavailable at {Hub}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, Uri hub, string reason);

    [LoggerMessage(EventId = 2, EventName = "HubInvokeFailed", Level = LogLevel.Warning, Message = "Hub method {Method} failed: {Reason}")]
    private static partial void LogInvokeFailed(ILogger logger, string method, string reason);
}
