using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// /hubs/live: live odds, pool states, a player's own notifications and channel chat. Anyone may connect and watch;
/// a Users JWT (the <c>access_token</c> query parameter, or a Bearer header) adds the caller's own notifications and
/// the right to chat. The contract is docs/realtime.md. Parameters are <see cref="JsonElement"/>s, read by
/// <see cref="HubArguments"/>, so a malformed argument is refused with a code.
/// </summary>
public sealed class LiveHub(
    ChatRoom chat, LiveStreamStore streams, SessionConnections sessions, BackplaneResync resync, HubCallers callers, IOptions<RealtimeOptions> options) : Hub
{
    private const string WatchesKey = "watches";
    private const string CallerKey = "caller";

    private Guid? CallerId => Context.User?.Identity?.IsAuthenticated == true ? Context.User.GetUserId() : null;

    private string? CallerSessionId => CallerId is null ? null : Context.User!.FindFirst(AuthenticationDefaults.Claims.SessionId)?.Value;

    /// <summary>A signed-in caller's own notifications arrive without asking, until the caller's session ends.</summary>
    public override async Task OnConnectedAsync()
    {
        // Before any invocation, so they read it without a lock. ConnectionCaps counted the connection under this caller.
        Context.Items[CallerKey] = Hubs.Caller.Of(Context.User, Context.GetHttpContext());
        if (CallerId is { } userId)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, LiveStream.User(userId).Group);
            if (CallerSessionId is { } sessionId)
            {
                sessions.Add(sessionId, Context);
            }
        }
        resync.Connected(Context.ConnectionId);
        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        sessions.Remove(Context.ConnectionId);
        resync.Disconnected(Context.ConnectionId);
        // SignalR takes the connection out of its groups; the caller's count of them follows.
        var watches = ConnectionItem(WatchesKey, () => new ConnectionWatches());
        lock (watches)
        {
            watches.Closed = true;
            foreach (var group in watches.Groups)
            {
                callers.Unwatch(Caller, group);
            }
            watches.Groups.Clear();
        }
        return base.OnDisconnectedAsync(exception);
    }

    public Task WatchPool(JsonElement poolId) => WatchAsync(LiveStream.Pool(RequirePoolId(poolId)));

    public Task UnwatchPool(JsonElement poolId) => UnwatchAsync(LiveStream.Pool(RequirePoolId(poolId)));

    public Task WatchChannel(JsonElement channel) => WatchAsync(LiveStream.Channel(RequireChannel(channel)));

    public Task UnwatchChannel(JsonElement channel) => UnwatchAsync(LiveStream.Channel(RequireChannel(channel)));

    /// <summary>Every message of the stream after <paramref name="afterSequence"/>, oldest first, or a catch-up-gap refusal when some are no longer kept.</summary>
    public async Task<IReadOnlyList<ReplayedMessage>> CatchUp(JsonElement stream, JsonElement afterSequence)
    {
        SpendCall();
        var name = HubArguments.Text(stream);
        if (name == "user" && CallerId is null)
        {
            throw new RefusedException("sign-in-required", "Sign in to catch up on your own notifications.");
        }
        if (LiveStream.TryParse(name, CallerId) is not { } live)
        {
            throw new RefusedException("invalid-stream", "Name the stream as pool:{id}, channel:{provider:channelId} or user.");
        }
        if (HubArguments.WholeNumber(afterSequence) is not { } after || after < 0)
        {
            throw new RefusedException("invalid-sequence", "The sequence to catch up after is a whole number, 0 or more.");
        }
        var settings = options.Value;
        return await streams.ReadAfterAsync(live, after)
            ?? throw new RefusedException("catch-up-gap",
                $"Some messages of {live.Name} after {after} are no longer kept (the last {settings.ReplayCapacity} for " +
                $"{settings.ReplayRetention.TotalMinutes:0} minutes are). Reload the current state, then carry on from the next message.");
    }

    public Task<ChatMessage> SendChat(JsonElement channel, JsonElement text) => SendChatOnce(channel, text, default);

    /// <summary>
    /// <see cref="SendChat"/> with the client's own id for the message (a GUID, or null for none): a retry with the same
    /// id is answered with the message stored the first time. A method of its own, since SignalR binds no optional
    /// arguments and the two-argument SendChat must keep working.
    /// </summary>
    public Task<ChatMessage> SendChatOnce(JsonElement channel, JsonElement text, JsonElement clientMessageId)
    {
        SpendCall(); // a send costs Redis work too, refused or not, and the chat's own limits are per user, not per connection
        var id = clientMessageId.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined ? (Guid?)null
            : HubArguments.Id(clientMessageId) ?? throw new RefusedException("invalid-message-id", "The client message id is a GUID, or null.");
        return chat.SendAsync(RequireChannel(channel), RequireUser("chat"), HubArguments.Text(text), Context.ConnectionAborted, id);
    }

    public Task<IReadOnlyList<ChatMessage>> GetChatHistory(JsonElement channel)
    {
        SpendCall();
        return chat.HistoryAsync(RequireChannel(channel));
    }

    // Moderation calls come out of the same allowance as the read calls: each costs Redis work (the caller's rank, the
    // target's) whether it is taken or refused, so a connection looping them, refused or not, is cut off.
    public Task DeleteChatMessage(JsonElement channel, JsonElement messageId)
    {
        SpendCall();
        return chat.DeleteAsync(RequireChannel(channel), RequireUser("moderate"), HubArguments.Text(messageId), Context.ConnectionAborted);
    }

    public Task MuteUser(JsonElement channel, JsonElement userId, JsonElement seconds)
    {
        SpendCall();
        return chat.MuteAsync(RequireChannel(channel), RequireUser("moderate"), RequireUserId(userId), HubArguments.WholeNumber(seconds));
    }

    public Task UnmuteUser(JsonElement channel, JsonElement userId)
    {
        SpendCall();
        return chat.UnmuteAsync(RequireChannel(channel), RequireUser("moderate"), RequireUserId(userId));
    }

    public Task BanUser(JsonElement channel, JsonElement userId)
    {
        SpendCall();
        return chat.BanAsync(RequireChannel(channel), RequireUser("moderate"), RequireUserId(userId));
    }

    public Task UnbanUser(JsonElement channel, JsonElement userId)
    {
        SpendCall();
        return chat.UnbanAsync(RequireChannel(channel), RequireUser("moderate"), RequireUserId(userId));
    }

    public Task AddModerator(JsonElement channel, JsonElement userId)
    {
        SpendCall();
        return chat.AddModeratorAsync(RequireChannel(channel), RequireUser("manage moderators"), RequireUserId(userId));
    }

    public Task RemoveModerator(JsonElement channel, JsonElement userId)
    {
        SpendCall();
        return chat.RemoveModeratorAsync(RequireChannel(channel), RequireUser("manage moderators"), RequireUserId(userId));
    }

    public Task<IReadOnlyList<Guid>> GetModerators(JsonElement channel)
    {
        SpendCall();
        return chat.ModeratorsAsync(RequireChannel(channel), RequireUser("see the moderators"));
    }

    /// <summary>An admin names a channel's streamer, e.g. when someone else created its first pool.</summary>
    public Task SetChannelStreamer(JsonElement channel, JsonElement userId)
    {
        SpendCall();
        return chat.AssignStreamerAsync(RequireChannel(channel), RequireUser("name a streamer"), RequireUserId(userId));
    }

    /// <summary>An admin leaves a channel with no streamer, e.g. when the user named there was demoted.</summary>
    public Task ClearChannelStreamer(JsonElement channel)
    {
        SpendCall();
        return chat.ClearStreamerAsync(RequireChannel(channel), RequireUser("clear a streamer"));
    }

    public Task<ChatPermissions> GetChatPermissions(JsonElement channel)
    {
        SpendCall(); // about six Redis reads (the caller's rank, ban, mute): a loop of them must not be free either
        return chat.PermissionsAsync(RequireChannel(channel), CurrentUser());
    }

    private async Task WatchAsync(LiveStream stream)
    {
        SpendCall();
        var settings = options.Value;
        var watches = ConnectionItem(WatchesKey, () => new ConnectionWatches());
        lock (watches)
        {
            if (watches.Closed)
            {
                return;
            }
            // Watching again costs nothing more, and joins the group again in case the first join failed.
            if (!watches.Groups.Contains(stream.Group))
            {
                if (watches.Groups.Count >= settings.MaxWatchesPerConnection)
                {
                    throw new RefusedException("too-many-watches",
                        $"One connection watches at most {settings.MaxWatchesPerConnection} pools and channels; unwatch one first.");
                }
                if (!callers.TryWatch(Caller, stream.Group, out var limit))
                {
                    throw new RefusedException("too-many-watches", Caller.Network
                        ? $"One network watches at most {limit} different pools and channels signed out; unwatch one first, or sign in."
                        : $"One player watches at most {limit} different pools and channels over all their connections; unwatch one first.");
                }
                watches.Groups.Add(stream.Group);
            }
        }
        await Groups.AddToGroupAsync(Context.ConnectionId, stream.Group);
    }

    private async Task UnwatchAsync(LiveStream stream)
    {
        SpendCall();
        var watches = ConnectionItem(WatchesKey, () => new ConnectionWatches());
        lock (watches)
        {
            if (watches.Groups.Remove(stream.Group))
            {
                callers.Unwatch(Caller, stream.Group);
            }
        }
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, stream.Group);
    }

    /// <summary>Counts a watch, unwatch, catch-up, chat, chat-history or moderation call against the caller's <see cref="ReadCallBudget"/>, shared by its connections.</summary>
    private void SpendCall()
    {
        if (!callers.TrySpendCall(Caller, out var retryAfter))
        {
            var (burst, perSecond) = options.Value.ReadCalls(Caller);
            var whose = Caller.Network ? "over all of a network's signed-out connections" : Caller.SignedIn ? "over all of a player's connections" : "on this connection";
            throw new RefusedException("rate-limited",
                $"Slow down: at most {burst} watch, catch-up, chat, chat history, chat permission and moderation calls at once, then {perSecond:0.#} a second, " +
                $"{whose}. Try again in {Math.Ceiling(retryAfter.TotalSeconds):0} s.");
        }
    }

    /// <summary>Whose allowances this connection spends: its user, or its client network when signed out.</summary>
    private Caller Caller => Context.Items[CallerKey] is Caller caller ? caller : throw new InvalidOperationException("OnConnectedAsync names the caller.");

    /// <summary>The pools and channels this connection watches; closed once it disconnected, so a late watch is not counted.</summary>
    private sealed class ConnectionWatches
    {
        public HashSet<string> Groups { get; } = new(StringComparer.Ordinal);
        public bool Closed { get; set; }
    }

    /// <summary>State that lives as long as the connection.</summary>
    private T ConnectionItem<T>(string key, Func<T> create) where T : class
    {
        lock (Context.Items)
        {
            return Context.Items.TryGetValue(key, out var value) ? (T)value! : (T)(Context.Items[key] = create());
        }
    }

    private static string RequireChannel(JsonElement channel) => ChannelNames.TryNormalise(HubArguments.Text(channel))
        ?? throw new RefusedException("invalid-channel", "Name the channel as provider:channelId, e.g. twitch:12826 (providers: twitch, kick, youtube).");

    private static Guid RequirePoolId(JsonElement poolId) => HubArguments.Id(poolId)
        ?? throw new RefusedException("invalid-pool-id", "Name the pool by its id, a GUID.");

    private static Guid RequireUserId(JsonElement userId) => HubArguments.Id(userId)
        ?? throw new RefusedException("invalid-user-id", "Name the user by their id, a GUID.");

    private ChatUser? CurrentUser() => CallerId is { } id
        ? new ChatUser(
            id,
            Context.User!.FindFirst(AuthenticationDefaults.Claims.DisplayName)?.Value is { Length: > 0 } name ? name : "Player",
            Context.User.IsInRole(AuthenticationDefaults.Roles.Admin),
            Context.User.IsInRole(AuthenticationDefaults.Roles.Streamer))
        : null;

    private ChatUser RequireUser(string action) => CurrentUser() ?? throw new RefusedException("sign-in-required", $"Sign in to {action}.");
}
