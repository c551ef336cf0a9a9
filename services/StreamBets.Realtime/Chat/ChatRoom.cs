using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Chat;

/// <summary>
/// Who is talking or moderating: the validated user id, display name, and whether the token's role says admin or
/// streamer. Being named a channel's streamer gives streamer powers only while the token says streamer (see RoleAsync).
/// </summary>
public sealed record ChatUser(Guid Id, string DisplayName, bool IsAdmin, bool IsStreamer);

/// <summary>What the caller may do in a channel's chat, for showing or hiding controls.</summary>
public sealed record ChatPermissions(bool CanChat, bool CanModerate, bool CanManageModerators, bool Banned, int MutedForSeconds);

/// <summary>
/// Chat per channel, all state in Redis so every replica enforces the same limits: the last messages (a capped list),
/// banned users (a set), mutes (a key per user that expires), moderators (a set), the channel's streamer (a key), and a
/// sliding-window rate limit per user (a sorted set of send times). Sending checks rate, ban and mute and then numbers,
/// keeps and replays the message in one script, so two replicas can never both let the sixth message of a window through.
/// </summary>
/// <remarks>
/// The channel's streamer is the owner Pools links it to (ChannelOwnerChanged; nobody once it is unlinked). Until Pools
/// has named an owner, the channel's owner when its first pool was created claims it, or the user a linked channel going
/// live names (StreamWentLive). An admin may name another, or nobody. The streamer manages moderators; the streamer,
/// moderators and admins delete messages, mute and ban. Streamer powers also need the streamer role in the caller's
/// token now: a demoted streamer still named here ranks as a viewer.
/// </remarks>
public sealed class ChatRoom(
    IConnectionMultiplexer redis, RealtimeKeys keys, LiveStreamStore streams, LivePublisher publisher, IOptions<RealtimeOptions> options, TimeProvider time)
{
    // Lua: counts a send in the user's sliding window (a sorted set of send times), or answers the ms until a slot frees
    // when the window is full (nothing counted then); 0 when counted. Refused sends count too, so a flood of them (while
    // muted, banned, or with text that is refused) is cut off like a flood of messages.
    // The window is timed by Redis's clock, the one clock every replica shares: with each replica's own, a replica whose
    // clock runs behind writes send times that the others see as already out of the window.
    private const string RateFunction = """

        local function take_slot(rateKey, window, limit, member)
          local time = redis.call('TIME')
          local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
          window = tonumber(window)
          redis.call('ZREMRANGEBYSCORE', rateKey, '-inf', now - window)
          if redis.call('ZCARD', rateKey) >= tonumber(limit) then
            local oldest = redis.call('ZRANGE', rateKey, 0, 0, 'WITHSCORES')
            return tonumber(oldest[2]) + window - now
          end
          redis.call('ZADD', rateKey, now, member)
          redis.call('PEXPIRE', rateKey, window)
          return 0
        end
        """;

    // KEYS: sequence, replay, history, banned, muted, rate, admin authors, sent, pushed. ARGV: entry, capacity, sequence
    // TTL, replay TTL, user id, history length, history TTL, window (ms), limit, message id, '1' when the sender is an
    // admin, sent TTL (0: the client gave no message id).
    // A stored message's push is claimed (pushed) with it, so a retry racing this send's own push does not push it too;
    // SendAsync gives the claim back when that push fails.
    // Answers {sequence, 0}, {-1, 0} banned, {-2, ms left} muted, {-3, ms until a slot frees} rate limited, {-4, 0} sent
    // before under the client's message id (nothing counted or written: a retry is not a new message).
    // An admin sender is remembered as long as the history keeps their messages: a message says nothing of its
    // author's role, and deleting follows the ranks.
    private const string SendScript = LiveStreamStore.AppendFunction + RateFunction + """

        local remember = tonumber(ARGV[12]) > 0
        if remember and redis.call('EXISTS', KEYS[8]) == 1 then return {-4, 0} end
        local wait = take_slot(KEYS[6], ARGV[8], ARGV[9], ARGV[10])
        if wait > 0 then return {-3, wait} end
        if redis.call('SISMEMBER', KEYS[4], ARGV[5]) == 1 then return {-1, 0} end
        local muted = redis.call('PTTL', KEYS[5])
        if muted > 0 then return {-2, muted} end
        local seq = append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
        redis.call('RPUSH', KEYS[3], seq .. ' ' .. ARGV[1])
        redis.call('LTRIM', KEYS[3], -tonumber(ARGV[6]), -1)
        redis.call('PEXPIRE', KEYS[3], ARGV[7])
        if ARGV[11] == '1' then
          redis.call('SADD', KEYS[7], ARGV[5])
          redis.call('PEXPIRE', KEYS[7], ARGV[7])
        end
        if remember then
          redis.call('SET', KEYS[8], seq .. ' ' .. ARGV[1], 'PX', ARGV[12])
          redis.call('SET', KEYS[9], '1', 'PX', ARGV[12])
        end
        return {seq, 0}
        """;

    // KEYS: pushed, banned, replay, history. ARGV: sender id, the message's sequence, needle ('"id":"…"'), pushed TTL.
    // Claims the push of a stored message for a retry: 1 when it may push, 0 when its push is claimed already (gone out,
    // or under way), the sender was banned since, or the message is no longer kept as a message: a deletion put its
    // notice in the message's replay entry and took it from the history, and a line that old is no news either.
    // A mute since does not hold it back: the line was sent before the mute, and it is in the history and the replay
    // already, so a watcher's CatchUp would bring it at the next gap anyway; held back, it would only arrive late and out
    // of order. The claim lets it go out once, so retries cannot keep a muted sender talking; a moderator deletes it.
    private const string RetryPushScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
        local replayed = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[2], ARGV[2])
        local kept = false
        if #replayed > 0 then
          for _, item in ipairs(replayed) do
            if string.find(item, ' ChatMessage ', 1, true) and string.find(item, ARGV[3], 1, true) then kept = true end
          end
        else
          for _, item in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
            if string.find(item, ARGV[3], 1, true) then kept = true break end
          end
        end
        if not kept then return 0 end
        redis.call('SET', KEYS[1], '1', 'PX', ARGV[4])
        return 1
        """;

    // KEYS: rate. ARGV: window (ms), limit, attempt id. A send whose text is refused: the ms until a slot frees, or 0.
    private const string RefusedSendScript = RateFunction + """

        return take_slot(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
        """;

    // KEYS: the user's chat channels (a sorted set, channel -> last send). ARGV: window (ms), limit, channel.
    // 0 when the user may chat in the channel (its time is renewed), else the ms until the least recent channel leaves
    // the window. A separate script from the send's, as its key is in the user's Redis Cluster slot, not the channel's.
    private const string ChannelSlotScript = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local window = tonumber(ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
          local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
          return tonumber(oldest[2]) + window - now
        end
        redis.call('ZADD', KEYS[1], now, ARGV[3])
        redis.call('PEXPIRE', KEYS[1], window)
        return 0
        """;

    // KEYS: sequence, replay, history, streamer, moderators, admin authors. ARGV: entry (the deletion notice), capacity,
    // sequence TTL, replay TTL, needle, caller's id, caller's rank (1 moderator, 2 streamer, 3 admin).
    // The message leaves the history and the replay: CatchUp is open to anyone, so its replay entry would keep the deleted
    // text readable for as long as the replay lives. There the deletion notice takes the message's place under its
    // sequence, so the numbers stay without holes (a hole would be a catch-up-gap) and nothing of the text is left.
    // The history holds more messages than one replay can (a channel's replay also carries pool events), and the
    // other way round, so each is searched on its own. 0 (nothing written) when neither holds the message: a made-up id
    // or one deleted already must not number a notice, or deletions alone could push the channel's messages out of its replay.
    // -1 (nothing written) when the author ranks as high as the caller, as for muting: a moderator deletes viewers'
    // messages and their own, not the streamer's, another moderator's or an admin's; an admin deletes anyone's. The author's rank is read here,
    // in the same script as the deletion, so an appointment in between cannot slip past it.
    private const string DeleteScript = LiveStreamStore.AppendFunction + """

        local historyItem, replayItem, replaySeq
        for _, item in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
          if string.find(item, ARGV[5], 1, true) then
            historyItem = item
            break
          end
        end
        for _, item in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
          local seq, message = string.match(item, '^(%d+) ChatMessage (.*)$')
          if seq and string.find(message, ARGV[5], 1, true) then
            replayItem, replaySeq = item, seq
            break
          end
        end
        if not historyItem and not replayItem then return 0 end
        local author = string.match(historyItem or replayItem, '"userId":"([^"]+)"')
        if author ~= ARGV[6] and tonumber(ARGV[7]) < 3 then
          local rank = 0
          local streamer = redis.call('GET', KEYS[4])
          if redis.call('SISMEMBER', KEYS[6], author) == 1 then rank = 3
          elseif streamer == author then rank = 2
          elseif streamer and redis.call('SISMEMBER', KEYS[5], author) == 1 then rank = 1
          end
          if rank >= tonumber(ARGV[7]) then return -1 end
        end
        if historyItem then redis.call('LREM', KEYS[3], 1, historyItem) end
        if replayItem then
          redis.call('ZREM', KEYS[2], replayItem)
          redis.call('ZADD', KEYS[2], replaySeq, replaySeq .. ' ' .. ARGV[1])
        end
        return append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
        """;

    // KEYS: streamer, moderators, owner version. ARGV: user id ('' for nobody), TTL (ms), change, version.
    // The changes: 'link' is Pools' link or unlink, applied only when its version is above the one kept (a late or
    // redelivered older change finds a newer one there and changes nothing); 'claim' (a pool's channel owner) takes a
    // channel nobody holds, and 'live' (StreamWentLive) replaces its streamer, both only while Pools has named no owner,
    // since neither is ordered with the links; 'name' (an admin) always replaces, leaving the version as it is, so the
    // next link change replaces the admin's pick and an older one still changes nothing. 'clear' (an admin) leaves the
    // channel with nobody, as an unlink does, and counts the channel as owned from then on (a version of 0 where Pools
    // never named an owner, below any version of Pools'), so no later claim or go-live names someone again: only the next
    // link change or an admin does.
    // A streamer Pools named has no expiry, like the link; the others expire after the retention unless renewed.
    // Moderators are the streamer's own appointees, so a different streamer (or none) starts without any; bans stay,
    // since they protect the viewers and the new streamer (or an admin) can lift them. The moderators expire with an
    // expiring streamer (AddModeratorScript keeps them so), as they would outlive them otherwise.
    private const string SetStreamerScript = """
        local current = redis.call('GET', KEYS[1])
        local owned = redis.call('EXISTS', KEYS[3]) == 1
        local change = ARGV[3]
        if change == 'link' then
          local known = redis.call('GET', KEYS[3])
          if known and tonumber(known) >= tonumber(ARGV[4]) then return 0 end
          redis.call('SET', KEYS[3], ARGV[4])
          owned = true
        elseif change == 'claim' then
          if owned or (current and current ~= ARGV[1]) then return 0 end
        elseif change == 'live' then
          if owned then return 0 end
        elseif change == 'clear' then
          redis.call('SET', KEYS[3], '0', 'NX')
          owned = true
        end
        if ARGV[1] == '' then
          redis.call('DEL', KEYS[1])
        elseif owned then
          redis.call('SET', KEYS[1], ARGV[1])
          redis.call('PERSIST', KEYS[2])
        else
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          redis.call('PEXPIRE', KEYS[2], ARGV[2])
        end
        if current ~= ARGV[1] then redis.call('DEL', KEYS[2]) end
        return 1
        """;

    // KEYS: streamer, moderators. ARGV: user id. The moderators get the streamer's expiry, if it has one.
    private const string AddModeratorScript = """
        redis.call('SADD', KEYS[2], ARGV[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
        """;

    private ChatOptions Options => options.Value.Chat;

    private IDatabase Db => redis.GetDatabase();

    /// <summary>
    /// Sends a message. With <paramref name="clientMessageId"/>, a retry (the first answer was lost, or the send failed
    /// after its message was stored, say on the backplane's PUBLISH) gets the stored message back instead of sending it
    /// twice; it is pushed again under its first number only if its first push failed, and only while it is neither
    /// deleted nor its sender banned (a mute since does not stop it: see RetryPushScript).
    /// </summary>
    public async Task<ChatMessage> SendAsync(string channel, ChatUser sender, string? text, CancellationToken cancellationToken, Guid? clientMessageId = null)
    {
        await TakeChannelSlotAsync(channel, sender.Id);
        string cleaned;
        try
        {
            cleaned = ChatText.Clean(text, Options.MaxLength);
        }
        catch (RefusedException)
        {
            await CountRefusedSendAsync(channel, sender.Id);
            throw;
        }
        var now = time.GetUtcNow();
        var message = new ChatMessage(Guid.CreateVersion7(now).ToString(), channel, sender.Id, sender.DisplayName, cleaned, now);
        var sent = keys.ChatSent(channel, sender.Id, clientMessageId);
        var retention = Options.ClientMessageIdRetention;
        // The line's push, claimed by whoever pushes it (the send script for the first send): a retry loop cannot replay
        // a line to everyone past a ban, a mute, the rate limit or its deletion, nor make every watcher catch up on a repeat.
        var pushed = keys.ChatSentPushed(channel, sender.Id, clientMessageId);
        // Set once this call's send script has answered that it stored the line and claimed its push: only then is a
        // failure this call's own PUBLISH, and only then is the claim this call's to give back.
        var claimed = false;
        try
        {
            return await PublishAsync(channel, sender, message, sent, pushed, clientMessageId is null ? 0 : (long)retention.TotalMilliseconds,
                () => claimed = true, cancellationToken);
        }
        catch (SentBeforeException)
        {
            var entry = await Db.StringGetAsync(sent);
            if (entry.IsNull)
            {
                // Its id was forgotten between the two reads (15 min after the first send): the line goes as a new one.
                return await SendAsync(channel, sender, text, cancellationToken, clientMessageId);
            }
            var stored = LiveStreamStore.Parse(entry.ToString()).Payload.Deserialize<ChatMessage>(LiveJson.Options)!;
            var stream = LiveStream.Channel(channel);
            var mayPush = (long)await Db.ScriptEvaluateAsync(RetryPushScript,
                [pushed, keys.Banned(channel), keys.Replay(stream), keys.ChatHistory(channel)],
                [sender.Id.ToString(), stored.Sequence, $"\"id\":\"{stored.Id}\"", (long)retention.TotalMilliseconds]) == 1;
            return mayPush
                ? await PushOrGiveBackAsync(pushed, () => publisher.PublishAsync(stream, stored, _ => Task.FromResult(stored.Sequence), cancellationToken))
                : stored;
        }
        catch (Exception) when (claimed)
        {
            // Stored and claimed, but the backplane's PUBLISH failed: the claim goes back, so the client's retry can push it.
            // A failure before the script's answer (its call timed out, say after it answered "sent before") gives nothing
            // back: the claim may be another push's, one that went out, and the next retry would push the line again.
            // A line left claimed but unpushed so (or because Redis was unreachable for giving the claim back) is found by
            // watchers by its sequence gap (CatchUp), as any push lost.
            await GiveBackAsync(pushed);
            throw;
        }
    }

    /// <summary>A retry's push; a failed one gives its claim back, for the next retry.</summary>
    private async Task<ChatMessage> PushOrGiveBackAsync(RedisKey pushed, Func<Task<ChatMessage>> push)
    {
        try
        {
            return await push();
        }
        catch (Exception)
        {
            await GiveBackAsync(pushed);
            throw;
        }
    }

    private async Task GiveBackAsync(RedisKey pushed)
    {
        try
        {
            await Db.KeyDeleteAsync(pushed);
        }
        catch (RedisException)
        {
            // The failure being reported matters more than this one.
        }
    }

    /// <param name="claimed">Called when the script stored the line and claimed its push (with a client message id), before the PUBLISH.</param>
    private Task<ChatMessage> PublishAsync(
        string channel, ChatUser sender, ChatMessage message, RedisKey sent, RedisKey pushed, long sentTtlMs, Action claimed,
        CancellationToken cancellationToken) =>
        publisher.PublishAsync(LiveStream.Channel(channel), message, async onStream =>
        {
            var stream = LiveStream.Channel(channel);
            var result = (RedisResult[])(await Db.ScriptEvaluateAsync(SendScript,
                [
                    keys.Sequence(stream), keys.Replay(stream), keys.ChatHistory(channel), keys.Banned(channel), keys.Muted(channel, sender.Id),
                    keys.ChatRate(channel, sender.Id), keys.AdminAuthors(channel), sent, pushed,
                ],
                [
                    LiveStreamStore.Entry(onStream), .. streams.RetentionArguments(), sender.Id.ToString(),
                    Options.HistoryLength, (long)Options.HistoryRetention.TotalMilliseconds,
                    (long)Options.RateWindow.TotalMilliseconds, Options.RateLimit, onStream.Id, sender.IsAdmin ? "1" : "0", sentTtlMs,
                ]))!;
            var (outcome, wait) = ((long)result[0], TimeSpan.FromMilliseconds((long)result[1]));
            if (outcome > 0 && sentTtlMs > 0)
            {
                claimed();
            }
            return outcome switch
            {
                -1 => throw new RefusedException("banned", "You are banned from this channel's chat."),
                -2 => throw new RefusedException("muted", $"You are muted in this chat for {Seconds(wait)} more seconds."),
                -3 => throw RateLimited(wait),
                -4 => throw new SentBeforeException(),
                _ => outcome,
            };
        }, cancellationToken);

    /// <summary>The send script found a message stored under the client's message id: nothing was written or pushed.</summary>
    private sealed class SentBeforeException : Exception;

    /// <summary>
    /// Counts the channel among those the user chatted in lately, or refuses the send rate-limited when there are
    /// <see cref="ChatOptions.ChannelLimit"/> others: the per-channel limit gives every new channel a fresh allowance,
    /// and each new channel's first message leaves keys in Redis for days.
    /// </summary>
    private async Task TakeChannelSlotAsync(string channel, Guid senderId)
    {
        var wait = (long)await Db.ScriptEvaluateAsync(ChannelSlotScript, [keys.ChatChannels(senderId)],
            [(long)Options.ChannelWindow.TotalMilliseconds, Options.ChannelLimit, channel]);
        if (wait > 0)
        {
            throw new RefusedException("rate-limited",
                $"Slow down: you can chat in at most {Options.ChannelLimit} channels every {Options.ChannelWindow.TotalMinutes:0.#} minutes. " +
                $"Try again in {Seconds(TimeSpan.FromMilliseconds(wait))} s.");
        }
    }

    /// <summary>A send refused for its text takes a slot in the window too; when none is left, it is refused rate-limited instead.</summary>
    private async Task CountRefusedSendAsync(string channel, Guid senderId)
    {
        var wait = (long)await Db.ScriptEvaluateAsync(RefusedSendScript, [keys.ChatRate(channel, senderId)],
            [(long)Options.RateWindow.TotalMilliseconds, Options.RateLimit, Guid.NewGuid().ToString()]);
        if (wait > 0)
        {
            throw RateLimited(TimeSpan.FromMilliseconds(wait));
        }
    }

    private RefusedException RateLimited(TimeSpan wait) => new("rate-limited",
        $"Slow down: at most {Options.RateLimit} messages every {Options.RateWindow.TotalSeconds:0} seconds, refused ones included. Try again in {Seconds(wait)} s.");

    /// <summary>The last messages of the channel, oldest first.</summary>
    public async Task<IReadOnlyList<ChatMessage>> HistoryAsync(string channel)
    {
        var entries = await Db.ListRangeAsync(keys.ChatHistory(channel));
        return [.. entries.Select(entry => LiveStreamStore.Parse(entry.ToString()).Payload.Deserialize<ChatMessage>(LiveJson.Options)!)];
    }

    public async Task DeleteAsync(string channel, ChatUser moderator, string? messageId, CancellationToken cancellationToken)
    {
        var role = await RequireModeratorAsync(channel, moderator);
        if (!Guid.TryParse(messageId, out var id))
        {
            throw new RefusedException("invalid-message-id", "That is not a chat message id.");
        }

        var stream = LiveStream.Channel(channel);
        await publisher.PublishAsync(stream, new ChatMessageDeleted(channel, id.ToString()), async onStream =>
        {
            var sequence = (long)await Db.ScriptEvaluateAsync(DeleteScript,
                [keys.Sequence(stream), keys.Replay(stream), keys.ChatHistory(channel), keys.Streamer(channel), keys.Moderators(channel), keys.AdminAuthors(channel)],
                [LiveStreamStore.Entry(onStream), .. streams.RetentionArguments(), $"\"id\":\"{id}\"", moderator.Id.ToString(), (int)role]);
            return sequence switch
            {
                > 0 => sequence,
                -1 => throw new RefusedException("cannot-moderate-user",
                    "Only the streamer or an admin can delete a moderator's or the streamer's messages, and only an admin an admin's."),
                _ => throw new RefusedException("message-not-found", "That message is not in this channel's chat: deleted already, too old, or never sent here."),
            };
        }, cancellationToken);
    }

    /// <summary>Mutes the user for <paramref name="seconds"/>, null when the caller sent no whole number.</summary>
    public async Task MuteAsync(string channel, ChatUser moderator, Guid userId, long? seconds)
    {
        if (seconds is not { } duration || duration < 1 || duration > Options.MaxMute.TotalSeconds)
        {
            throw new RefusedException("invalid-duration", $"A mute lasts from 1 to {Options.MaxMute.TotalSeconds:0} seconds.");
        }
        await RequireAuthorityOverAsync(channel, moderator, userId, lifting: false);
        await Db.StringSetAsync(keys.Muted(channel, userId), 1, TimeSpan.FromSeconds(duration));
    }

    public async Task UnmuteAsync(string channel, ChatUser moderator, Guid userId)
    {
        await RequireAuthorityOverAsync(channel, moderator, userId, lifting: true);
        await Db.KeyDeleteAsync(keys.Muted(channel, userId));
    }

    public async Task BanAsync(string channel, ChatUser moderator, Guid userId)
    {
        await RequireAuthorityOverAsync(channel, moderator, userId, lifting: false);
        await Db.SetAddAsync(keys.Banned(channel), userId.ToString());
    }

    public async Task UnbanAsync(string channel, ChatUser moderator, Guid userId)
    {
        await RequireAuthorityOverAsync(channel, moderator, userId, lifting: true);
        await Db.SetRemoveAsync(keys.Banned(channel), userId.ToString());
    }

    public async Task AddModeratorAsync(string channel, ChatUser caller, Guid userId)
    {
        await RequireStreamerAsync(channel, caller);
        await Db.ScriptEvaluateAsync(AddModeratorScript, [keys.Streamer(channel), keys.Moderators(channel)], [userId.ToString()]);
    }

    public async Task RemoveModeratorAsync(string channel, ChatUser caller, Guid userId)
    {
        await RequireStreamerAsync(channel, caller);
        await Db.SetRemoveAsync(keys.Moderators(channel), userId.ToString());
    }

    public async Task<IReadOnlyList<Guid>> ModeratorsAsync(string channel, ChatUser caller)
    {
        await RequireStreamerAsync(channel, caller);
        return [.. (await Db.SetMembersAsync(keys.Moderators(channel))).Select(m => Guid.Parse(m.ToString())).Order()];
    }

    public async Task<ChatPermissions> PermissionsAsync(string channel, ChatUser? caller)
    {
        if (caller is null)
        {
            return new ChatPermissions(false, false, false, false, 0);
        }
        var role = await RoleAsync(channel, caller);
        var banned = Db.SetContainsAsync(keys.Banned(channel), caller.Id.ToString());
        var muted = Db.KeyTimeToLiveAsync(keys.Muted(channel, caller.Id));
        var mutedFor = await muted is { } left ? Seconds(left) : 0;
        var isBanned = await banned;
        // A muted user's sends are all refused, and each counts against their rate limit: the input is not theirs yet.
        return new ChatPermissions(!isBanned && mutedFor == 0, role >= Role.Moderator, role >= Role.Streamer, isBanned, mutedFor);
    }

    /// <summary>
    /// The channel's owner when one of its pools was created becomes its streamer if nobody holds the channel and Pools
    /// has named no owner yet (a channel linked before links were published); their later pools keep it.
    /// </summary>
    public Task ClaimChannelAsync(string channel, Guid ownerId) => SetStreamerAsync(channel, ownerId, "claim");

    /// <summary>A linked channel's owner (from the Integration service) is its streamer, whoever created pools on it, until Pools names the owner.</summary>
    public Task SetStreamerAsync(string channel, Guid streamerId) => SetStreamerAsync(channel, streamerId, "live");

    /// <summary>
    /// Pools linked the channel to <paramref name="ownerId"/> (null: unlinked, and nobody is its streamer). False when a
    /// change with this <paramref name="version"/> or a later one was applied already: this one is old and changes nothing.
    /// </summary>
    public async Task<bool> ChangeOwnerAsync(string channel, Guid? ownerId, long version) =>
        (long)await SetStreamerAsync(channel, ownerId, "link", version) == 1;

    /// <summary>An admin names the streamer; it lasts until the channel's next link change in Pools.</summary>
    public Task AssignStreamerAsync(string channel, ChatUser caller, Guid streamerId)
    {
        RequireAdmin(caller, "name a channel's streamer");
        return SetStreamerAsync(channel, streamerId, "name");
    }

    /// <summary>
    /// An admin leaves the channel with no streamer, and so no moderators, as an unlink in Pools does: the way to end the
    /// protection and the moderators of a demoted user still named there. No later claim or go-live names a streamer
    /// again; the channel's next link change in Pools or an admin does.
    /// </summary>
    public Task ClearStreamerAsync(string channel, ChatUser caller)
    {
        RequireAdmin(caller, "clear a channel's streamer");
        return SetStreamerAsync(channel, null, "clear");
    }

    private static void RequireAdmin(ChatUser caller, string action)
    {
        if (!caller.IsAdmin)
        {
            throw new RefusedException("admin-only", $"Only an admin can {action}.");
        }
    }

    private Task<RedisResult> SetStreamerAsync(string channel, Guid? streamerId, string change, long version = 0) =>
        Db.ScriptEvaluateAsync(SetStreamerScript, [keys.Streamer(channel), keys.Moderators(channel), keys.StreamerOwnerVersion(channel)],
            [streamerId?.ToString() ?? "", (long)Options.StreamerRetention.TotalMilliseconds, change, version]);

    /// <summary>Ranks, lowest first; DeleteScript compares them as numbers.</summary>
    private enum Role
    {
        Viewer,
        Moderator,
        Streamer,
        Admin,
    }

    /// <summary>
    /// What the caller may do: a banned or muted moderator stays appointed (it may be lifted) but moderates nothing
    /// meanwhile, since only the streamer or an admin can silence a moderator, and that is meant to stop them.
    /// The user named the channel's streamer holds streamer powers only while their token says streamer: an admin's
    /// naming, a pool's claim and a go-live stay in Redis with nothing in Pools to unlink when Users demotes them, and
    /// a demoted user's sessions are revoked, so their next token carries the new role.
    /// </summary>
    private async Task<Role> RoleAsync(string channel, ChatUser user)
    {
        if (user.IsAdmin)
        {
            return Role.Admin;
        }
        var banned = Db.SetContainsAsync(keys.Banned(channel), user.Id.ToString());
        var muted = Db.KeyExistsAsync(keys.Muted(channel, user.Id));
        var role = await AppointedRoleAsync(channel, user.Id);
        var silenced = await banned | await muted;
        return role switch
        {
            Role.Streamer when !user.IsStreamer => Role.Viewer,
            Role.Moderator when silenced => Role.Viewer,
            _ => role,
        };
    }

    /// <summary>
    /// The rank a user holds in the channel, banned or not: a moderator the streamer banned still outranks what another
    /// moderator may touch. A streamer keeps their powers under a ban from before they held the channel (nobody can ban
    /// the streamer), so they can lift it. Moderators count only while the channel has a streamer, whose appointees they
    /// are: when an expiring streamer's claim runs out, the appointments go with it. They still count while a demoted
    /// streamer stays named: a moderator's call carries only the moderator's role, not the streamer's (an admin removes
    /// them, or names another streamer or nobody, which empties the list). The rank here ignores the user's token, which
    /// only the caller's own call carries: a named streamer is still treated as one when they are the target (see RoleAsync).
    /// </summary>
    private async Task<Role> AppointedRoleAsync(string channel, Guid userId)
    {
        var streamerRead = Db.StringGetAsync(keys.Streamer(channel));
        var moderatorRead = Db.SetContainsAsync(keys.Moderators(channel), userId.ToString());
        var (streamer, moderator) = (await streamerRead, await moderatorRead);
        return streamer == userId.ToString() ? Role.Streamer : moderator && !streamer.IsNull ? Role.Moderator : Role.Viewer;
    }

    private async Task<Role> RequireModeratorAsync(string channel, ChatUser user)
    {
        var role = await RoleAsync(channel, user);
        return role >= Role.Moderator
            ? role
            : throw new RefusedException("not-a-moderator", "Only the channel's streamer, its moderators and admins can moderate this chat.");
    }

    private async Task RequireStreamerAsync(string channel, ChatUser user)
    {
        if (await RoleAsync(channel, user) < Role.Streamer)
        {
            throw new RefusedException("not-the-streamer", "Only the channel's streamer and admins can manage its moderators.");
        }
    }

    /// <summary>
    /// Muting and banning, and lifting them, go down the ranks only: nobody silences themselves or the streamer, and
    /// moderators neither silence each other nor lift what the streamer put on a moderator, their own included. The
    /// streamer and admins may lift a mute or ban on themselves.
    /// </summary>
    private async Task RequireAuthorityOverAsync(string channel, ChatUser moderator, Guid target, bool lifting)
    {
        var role = await RequireModeratorAsync(channel, moderator);
        if (target == moderator.Id)
        {
            if (lifting && role >= Role.Streamer)
            {
                return;
            }
            throw new RefusedException("cannot-moderate-user",
                lifting ? "Only the streamer or an admin can lift a moderator's mute or ban." : "You cannot mute or ban yourself.");
        }
        // Only a caller's own token says admin; Realtime cannot know whether the target is one without asking Users. An
        // admin a moderator mutes or bans lifts it themselves (admins moderate every channel).
        var targetRole = await AppointedRoleAsync(channel, target);
        if (targetRole == Role.Streamer && !lifting)
        {
            throw new RefusedException("cannot-moderate-user", "The channel's streamer cannot be muted or banned.");
        }
        if (targetRole >= role)
        {
            throw new RefusedException("cannot-moderate-user",
                lifting ? "Only the streamer or an admin can lift a mute or ban on a moderator or the streamer." : "Only the streamer or an admin can mute or ban a moderator.");
        }
    }

    private static int Seconds(TimeSpan span) => Math.Max(1, (int)Math.Ceiling(span.TotalSeconds));
}
