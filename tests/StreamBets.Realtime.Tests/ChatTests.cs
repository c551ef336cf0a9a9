using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.Realtime.Chat;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Tests;

[Collection(StackCollection.Name)]
public sealed class ChatTests(RealtimeStack stack)
{
    [Fact]
    public async Task A_message_reaches_the_channels_watchers_with_the_senders_name()
    {
        var channel = TestEvents.NewChannel();
        var sender = Guid.NewGuid();
        await using var watcher = await stack.ConnectAsync(toHostB: true);
        await using var other = await stack.ConnectAsync();
        await watcher.InvokeAsync("WatchChannel", channel);
        await other.InvokeAsync("WatchChannel", TestEvents.NewChannel());
        await using var client = await stack.ConnectAsync(RealtimeStack.Token(sender, displayName: "Ana"));

        var sent = await client.InvokeAsync<JsonElement>("SendChat", channel, "  boa sorte!  ");

        var pushed = await watcher.WaitForAsync("ChatMessage");
        Assert.Equal(sent.Text("id"), pushed.Text("id"));
        Assert.Equal("boa sorte!", pushed.Text("text"));
        Assert.Equal("Ana", pushed.Text("displayName"));
        Assert.Equal(sender, pushed.Guid("userId"));
        Assert.Equal($"channel:{channel}", pushed.Text("stream"));
        await Task.Delay(500);
        Assert.Empty(other.Received("ChatMessage"));
    }

    [Fact]
    public async Task Messages_must_have_1_to_300_characters()
    {
        var channel = TestEvents.NewChannel();
        await using var client = await stack.ConnectAsync(Guid.NewGuid());

        var tooLong = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChat", channel, new string('a', 301)));
        var empty = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChat", channel, " \n\t "));
        var longest = await client.InvokeAsync<JsonElement>("SendChat", channel, new string('b', 300));

        Assert.Equal("message-too-long", Refusal.Code(tooLong));
        Assert.Contains("300", tooLong.Message, StringComparison.Ordinal);
        Assert.Equal("message-empty", Refusal.Code(empty));
        Assert.Equal(300, longest.Text("text").Length);
    }

    [Fact]
    public async Task The_sixth_message_within_ten_seconds_is_rate_limited_for_that_user_only()
    {
        var channel = TestEvents.NewChannel();
        await using var chatty = await stack.ConnectAsync(Guid.NewGuid());
        await using var calm = await stack.ConnectAsync(Guid.NewGuid(), toHostB: true);

        for (var i = 1; i <= 5; i++)
        {
            await chatty.InvokeAsync<JsonElement>("SendChat", channel, $"message {i}");
        }
        var limited = await Assert.ThrowsAsync<HubException>(() => chatty.InvokeAsync<JsonElement>("SendChat", channel, "message 6"));
        await calm.InvokeAsync<JsonElement>("SendChat", channel, "my first");

        Assert.Equal("rate-limited", Refusal.Code(limited));
        Assert.Contains("5 messages every 10 seconds", limited.Message, StringComparison.Ordinal);
        var history = await calm.InvokeAsync<List<JsonElement>>("GetChatHistory", channel);
        Assert.Equal(["message 1", "message 2", "message 3", "message 4", "message 5", "my first"], history.Select(m => m.Text("text")));
    }

    [Fact]
    public async Task Refused_messages_count_against_the_rate_limit_like_sent_ones()
    {
        var channel = TestEvents.NewChannel();
        await using var client = await stack.ConnectAsync(Guid.NewGuid());

        await client.InvokeAsync<JsonElement>("SendChat", channel, "message 1");
        for (var i = 2; i <= 4; i++)
        {
            Assert.Equal("message-too-long", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChat", channel, new string('a', 301)))));
        }
        Assert.Equal("message-empty", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChat", channel, " "))));
        var tooLong = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChat", channel, new string('a', 301)));
        var fine = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChat", channel, "message 6"));

        Assert.Equal("rate-limited", Refusal.Code(tooLong));
        Assert.Equal("rate-limited", Refusal.Code(fine));
        Assert.Equal(["message 1"], (await client.InvokeAsync<List<JsonElement>>("GetChatHistory", channel)).Select(m => m.Text("text")));
    }

    [Fact]
    public async Task One_user_chats_in_a_few_new_channels_at_a_time_so_made_up_channels_cannot_fill_redis()
    {
        var channelPrefix = $"twitch:rt-{Guid.NewGuid():N}-";
        await using var client = await stack.ConnectAsync(Guid.NewGuid());
        await using var otherUser = await stack.ConnectAsync(Guid.NewGuid());
        var options = new RealtimeOptions().Chat;
        var sent = 0;

        var refused = await Assert.ThrowsAsync<HubException>(async () =>
        {
            for (; sent < 50; sent++)
            {
                await client.InvokeAsync<JsonElement>("SendChat", $"{channelPrefix}{sent}", "hi");
            }
        });

        Assert.Equal("rate-limited", Refusal.Code(refused));
        Assert.Contains("Try again in", refused.Message, StringComparison.Ordinal);
        Assert.Equal(options.ChannelLimit, sent);
        var redis = stack.ServicesA.GetRequiredService<IConnectionMultiplexer>();
        var keys = await redis.GetServers()[0].KeysAsync(pattern: $"{stack.KeyPrefix}:{{channel:{channelPrefix}*").ToListAsync();
        Assert.Equal(options.ChannelLimit, keys.Count(key => key.ToString().EndsWith(":seq", StringComparison.Ordinal)));
        // The channels already chatted in stay open to the user, and the limit is the user's alone.
        await client.InvokeAsync<JsonElement>("SendChat", $"{channelPrefix}0", "still here");
        await otherUser.InvokeAsync<JsonElement>("SendChat", $"{channelPrefix}49", "my first");
    }

    [Fact]
    public async Task A_send_retried_with_the_same_client_message_id_gets_the_stored_message_instead_of_a_second_one()
    {
        var channel = TestEvents.NewChannel();
        await using var client = await stack.ConnectAsync(Guid.NewGuid());
        await using var watcher = await stack.ConnectAsync(toHostB: true);
        await watcher.InvokeAsync("WatchChannel", channel);
        var clientMessageId = Guid.NewGuid();

        var first = await client.InvokeAsync<JsonElement>("SendChatOnce", channel, "gg", clientMessageId);
        var retry = await client.InvokeAsync<JsonElement>("SendChatOnce", channel, "gg", clientMessageId);
        var another = await client.InvokeAsync<JsonElement>("SendChatOnce", channel, "gg", Guid.NewGuid());
        var withoutId = await client.InvokeAsync<JsonElement>("SendChatOnce", channel, "wp", null);

        Assert.Equal(first.Text("id"), retry.Text("id"));
        Assert.Equal(first.Number("sequence"), retry.Number("sequence"));
        Assert.NotEqual(first.Text("id"), another.Text("id"));
        var history = await client.InvokeAsync<List<JsonElement>>("GetChatHistory", channel);
        Assert.Equal([first.Text("id"), another.Text("id"), withoutId.Text("id")], history.Select(m => m.Text("id")));
        // The line went out once: its retry pushed nothing (a retry loop could replay it to everyone, past a ban or its deletion).
        await watcher.WaitForCountAsync("ChatMessage", 3);
        Assert.Equal([first.Text("id"), another.Text("id"), withoutId.Text("id")], watcher.Received("ChatMessage").Select(m => m.Text("id")));
        Assert.Equal("invalid-message-id", Refusal.Code(await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChatOnce", channel, "gg", "not-a-guid"))));
    }

    [Fact]
    public async Task A_send_that_failed_after_it_was_stored_is_pushed_once_its_client_retries()
    {
        var channel = TestEvents.NewChannel();
        await using var watcher = await stack.ConnectAsync(toHostB: true);
        await watcher.InvokeAsync("WatchChannel", channel);
        var chat = ChatOver(new HubFailingOnce(HubContext));
        var sender = new ChatUser(Guid.NewGuid(), "Ana", IsAdmin: false, IsStreamer: false);
        var clientMessageId = Guid.NewGuid();

        await Assert.ThrowsAsync<RedisConnectionException>(() => chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId));
        var retried = await chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId);

        var pushed = await watcher.WaitForAsync("ChatMessage");
        Assert.Equal(retried.Id, pushed.Text("id"));
        Assert.Equal(retried.Sequence, pushed.Number("sequence"));
        Assert.Equal([retried.Id], (await chat.HistoryAsync(channel)).Select(m => m.Id));
    }

    [Fact]
    public async Task A_retry_after_a_failed_push_pushes_nothing_once_the_line_was_deleted_or_its_sender_banned()
    {
        foreach (var moderation in new[] { "delete", "ban" })
        {
            var channel = TestEvents.NewChannel();
            await using var watcher = await stack.ConnectAsync(toHostB: true);
            await watcher.InvokeAsync("WatchChannel", channel);
            var chat = ChatOver(new HubFailingOnce(HubContext));
            var (sender, admin) = SenderAndAdmin();
            var clientMessageId = Guid.NewGuid();

            await Assert.ThrowsAsync<RedisConnectionException>(() => chat.SendAsync(channel, sender, "spam link", CancellationToken.None, clientMessageId));
            var stored = Assert.Single(await chat.HistoryAsync(channel));
            if (moderation == "delete")
            {
                await chat.DeleteAsync(channel, admin, stored.Id, CancellationToken.None);
                await watcher.WaitForAsync("ChatMessageDeleted");
            }
            else
            {
                await chat.BanAsync(channel, admin, sender.Id);
            }
            await chat.SendAsync(channel, sender, "spam link", CancellationToken.None, clientMessageId);
            await chat.SendAsync(channel, new ChatUser(Guid.NewGuid(), "Bo", IsAdmin: false, IsStreamer: false), "later line", CancellationToken.None);

            // Pushes of one stream arrive in order: once the later line is in, the retry's push would have been too.
            await watcher.WaitForAsync("ChatMessage", m => m.Text("text") == "later line");
            Assert.Equal(["later line"], watcher.Received("ChatMessage").Select(m => m.Text("text")));
        }
    }

    [Fact]
    public async Task A_retry_racing_the_first_sends_push_does_not_push_the_line_again()
    {
        var channel = TestEvents.NewChannel();
        await using var watcher = await stack.ConnectAsync(toHostB: true);
        await watcher.InvokeAsync("WatchChannel", channel);
        var held = new HubHeldOnce(HubContext);
        var chat = ChatOver(held);
        // The retry runs on another replica, as the client's reconnect may land there.
        var otherReplica = ActivatorUtilities.CreateInstance<ChatRoom>(stack.ServicesA);
        var sender = new ChatUser(Guid.NewGuid(), "Ana", IsAdmin: false, IsStreamer: false);
        var clientMessageId = Guid.NewGuid();

        var first = chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId);
        await held.Reached.WaitAsync(TimeSpan.FromSeconds(10)); // stored, its push under way
        var retried = await otherReplica.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId);
        held.Release();
        Assert.Equal(retried.Id, (await first).Id);

        await chat.SendAsync(channel, new ChatUser(Guid.NewGuid(), "Bo", IsAdmin: false, IsStreamer: false), "later line", CancellationToken.None);
        await watcher.WaitForAsync("ChatMessage", m => m.Text("text") == "later line");
        Assert.Equal(["gg", "later line"], watcher.Received("ChatMessage").Select(m => m.Text("text")));
    }

    [Fact]
    public async Task A_retry_whose_answer_from_redis_was_lost_does_not_let_the_next_retry_push_the_line_again()
    {
        var channel = TestEvents.NewChannel();
        await using var watcher = await stack.ConnectAsync(toHostB: true);
        await watcher.InvokeAsync("WatchChannel", channel);
        var sender = new ChatUser(Guid.NewGuid(), "Ana", IsAdmin: false, IsStreamer: false);
        var clientMessageId = Guid.NewGuid();
        // Redis runs the retry's send script (it answers "sent before", writing nothing), but its answer times out.
        var sent = stack.ServicesA.GetRequiredService<RealtimeKeys>().ChatSent(channel, sender.Id, clientMessageId);
        var answerLost = 0;
        var redis = Intercepted<IConnectionMultiplexer>.Wrap(stack.ServicesA.GetRequiredService<IConnectionMultiplexer>(), (method, _, connection) =>
            method.Name != nameof(IConnectionMultiplexer.GetDatabase) ? connection : Intercepted<IDatabase>.Wrap((IDatabase)connection!, (call, args, answer) =>
                call.Name == nameof(IDatabase.ScriptEvaluateAsync) && args[1] is RedisKey[] keys && keys.Contains(sent) && Interlocked.Exchange(ref answerLost, 0) == 1
                    ? LoseAnswerAsync((Task<RedisResult>)answer!)
                    : answer));
        var chat = ActivatorUtilities.CreateInstance<ChatRoom>(stack.ServicesA, redis);

        var first = await chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId);
        Volatile.Write(ref answerLost, 1);
        await Assert.ThrowsAsync<RedisTimeoutException>(() => chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId));
        var retried = await chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId);
        Assert.Equal(first.Id, retried.Id);

        await chat.SendAsync(channel, new ChatUser(Guid.NewGuid(), "Bo", IsAdmin: false, IsStreamer: false), "later line", CancellationToken.None);
        await watcher.WaitForAsync("ChatMessage", m => m.Text("text") == "later line");
        Assert.Equal(["gg", "later line"], watcher.Received("ChatMessage").Select(m => m.Text("text")));

        static async Task<RedisResult> LoseAnswerAsync(Task<RedisResult> answer)
        {
            await answer;
            throw new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent);
        }
    }

    [Fact]
    public async Task A_line_sent_before_its_sender_was_muted_is_still_pushed_once_by_a_retry_after_its_push_failed()
    {
        var channel = TestEvents.NewChannel();
        await using var watcher = await stack.ConnectAsync(toHostB: true);
        await watcher.InvokeAsync("WatchChannel", channel);
        var chat = ChatOver(new HubFailingOnce(HubContext));
        var (sender, admin) = SenderAndAdmin();
        var clientMessageId = Guid.NewGuid();

        await Assert.ThrowsAsync<RedisConnectionException>(() => chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId));
        await chat.MuteAsync(channel, admin, sender.Id, 60);
        await chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId);
        await chat.SendAsync(channel, sender, "gg", CancellationToken.None, clientMessageId);
        var muted = await Assert.ThrowsAsync<RefusedException>(() => chat.SendAsync(channel, sender, "new line", CancellationToken.None, Guid.NewGuid()));
        await chat.SendAsync(channel, new ChatUser(Guid.NewGuid(), "Bo", IsAdmin: false, IsStreamer: false), "later line", CancellationToken.None);

        // It was in the history and the replay already (a watcher's CatchUp brings it anyway); a new line is refused.
        Assert.Equal("muted", muted.Code);
        await watcher.WaitForAsync("ChatMessage", m => m.Text("text") == "later line");
        Assert.Equal(["gg", "later line"], watcher.Received("ChatMessage").Select(m => m.Text("text")));
    }

    [Fact]
    public async Task The_rate_limit_holds_across_replicas_whose_clocks_disagree()
    {
        var channel = TestEvents.NewChannel();
        var userId = Guid.NewGuid();
        // A replica whose clock is a minute behind: its send times must not look a minute old to the other replicas.
        var laggingReplica = ActivatorUtilities.CreateInstance<ChatRoom>(stack.ServicesA, new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-1)));
        for (var i = 1; i <= 5; i++)
        {
            await laggingReplica.SendAsync(channel, new ChatUser(userId, "Ana", IsAdmin: false, IsStreamer: false), $"message {i}", CancellationToken.None);
        }
        await using var client = await stack.ConnectAsync(userId, toHostB: true);

        var limited = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync<JsonElement>("SendChat", channel, "message 6"));

        Assert.Equal("rate-limited", Refusal.Code(limited));
    }

    [Fact]
    public async Task A_late_joiner_reads_the_last_100_messages_oldest_first()
    {
        var channel = TestEvents.NewChannel();
        var senders = new List<LiveClient>();
        try
        {
            for (var user = 0; user < 21; user++)
            {
                var sender = await stack.ConnectAsync(Guid.NewGuid(), toHostB: user % 2 == 1);
                senders.Add(sender);
                for (var i = 0; i < 5; i++)
                {
                    await sender.InvokeAsync<JsonElement>("SendChat", channel, $"#{user * 5 + i + 1}");
                }
            }

            await using var lateJoiner = await stack.ConnectAsync(); // anonymous viewers read chat too
            var history = await lateJoiner.InvokeAsync<List<JsonElement>>("GetChatHistory", channel);

            Assert.Equal(Enumerable.Range(6, 100).Select(n => $"#{n}"), history.Select(m => m.Text("text")));
            var sequences = history.Select(m => m.Number("sequence")).ToArray();
            Assert.Equal(Enumerable.Range(6, 100).Select(n => (long)n), sequences);
        }
        finally
        {
            foreach (var sender in senders)
            {
                await sender.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Channels_are_named_provider_colon_id()
    {
        await using var client = await stack.ConnectAsync(Guid.NewGuid());

        var refused = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync("WatchChannel", "myspace:123"));

        Assert.Equal("invalid-channel", Refusal.Code(refused));
    }

    [Fact]
    public async Task One_connection_watches_at_most_64_pools_and_channels()
    {
        // Room for a channel page: its channel and the 50 live pools Pools lists at most.
        await using var client = await stack.ConnectAsync();
        for (var i = 0; i < 64; i++)
        {
            await client.InvokeAsync("WatchPool", Guid.NewGuid());
        }

        var refused = await Assert.ThrowsAsync<HubException>(() => client.InvokeAsync("WatchChannel", TestEvents.NewChannel()));

        Assert.Equal("too-many-watches", Refusal.Code(refused));
    }

    /// <summary>
    /// A stand-in for an interface that hands every call to <c>target</c>, then lets <c>after</c> replace its answer
    /// (a Redis answer lost after the command ran, say).
    /// </summary>
    public class Intercepted<T> : DispatchProxy where T : class
    {
        private T _target = null!;
        private Func<MethodInfo, object?[], object?, object?> _after = null!;

        public static T Wrap(T target, Func<MethodInfo, object?[], object?, object?> after)
        {
            var proxy = Create<T, Intercepted<T>>();
            var intercepted = (Intercepted<T>)(object)proxy;
            (intercepted._target, intercepted._after) = (target, after);
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            try
            {
                return _after(targetMethod!, args ?? [], targetMethod!.Invoke(_target, args));
            }
            catch (TargetInvocationException e) when (e.InnerException is { } inner)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
                throw;
            }
        }
    }

    private IHubContext<LiveHub> HubContext => stack.ServicesA.GetRequiredService<IHubContext<LiveHub>>();

    /// <summary>A chat room on replica A whose backplane is <paramref name="hub"/> (a first publish failing or held).</summary>
    private ChatRoom ChatOver(HubFirstPublishReplaced hub) =>
        ActivatorUtilities.CreateInstance<ChatRoom>(stack.ServicesA, ActivatorUtilities.CreateInstance<LivePublisher>(stack.ServicesA, hub));

    private static (ChatUser Sender, ChatUser Admin) SenderAndAdmin() =>
        (new ChatUser(Guid.NewGuid(), "Ana", IsAdmin: false, IsStreamer: false), new ChatUser(Guid.NewGuid(), "Admin", IsAdmin: true, IsStreamer: false));
}
