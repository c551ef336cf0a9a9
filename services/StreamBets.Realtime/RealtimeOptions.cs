namespace StreamBets.Realtime;

/// <summary>Settings of the Realtime service, bound from the "Realtime" configuration section.</summary>
public sealed class RealtimeOptions
{
    public const string SectionName = "Realtime";

    /// <summary>Prefix of every Redis key and of the SignalR backplane channels, so environments (or test runs) can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "realtime";

    /// <summary>Odds of one pool are pushed at most once per interval (latest wins); the first change after a quiet interval goes at once.</summary>
    public TimeSpan OddsInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Messages kept per stream for <c>CatchUp</c>.</summary>
    public int ReplayCapacity { get; set; } = 200;

    /// <summary>How long a stream's replay buffer outlives its last message.</summary>
    public TimeSpan ReplayRetention { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a stream's sequence counter outlives its last message. Far longer than the replay: a counter that started
    /// again at 1 would look like old news to a client that remembers a higher number.
    /// </summary>
    public TimeSpan SequenceRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long an event id is remembered, so the bus's redelivery of an event is not pushed twice. The bus may redeliver
    /// for days; pool events are then still told apart by their pool's stage (docs/realtime.md, "Redelivered late").
    /// </summary>
    public TimeSpan DeduplicationWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a replica takes to tell all its clients to catch up once its backplane connection is back (in slices of
    /// 100 connections): 10,000 clients then do not all call CatchUp in the same millisecond.
    /// </summary>
    public TimeSpan ResyncSpread { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the pool-to-channel mapping outlives the pool's last lifecycle event. A pool may stay locked up to 168 h
    /// (Pools' largest <c>autoCancelAfterHours</c>) before its result, and its settlement comes after that: twice the
    /// longest lock, so a late result or a stalled sweeper still reaches the channel.
    /// </summary>
    public TimeSpan PoolChannelRetention { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Pools and channels one connection may watch at once: above a channel page's channel and its live pools (50 at most).</summary>
    public int MaxWatchesPerConnection { get; set; } = 64;

    /// <summary>
    /// Different pools and channels one signed-in user may watch at once on a replica, over all their connections: each
    /// is a backplane SUBSCRIBE. Room for four channel pages in as many tabs.
    /// </summary>
    public int MaxWatchesPerUser { get; set; } = 256;

    /// <summary>The same for one anonymous client network (an IPv4 address or IPv6 /48), which may be many viewers behind a carrier's NAT.</summary>
    public int MaxWatchesPerAnonymousNetwork { get; set; } = 4_096;

    /// <summary>Live connections one signed-in user may have open at once on a replica; more are refused 429.</summary>
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>Signed-out live connections one client network may have open at once on a replica: generous, since a carrier's NAT puts many viewers behind one IPv4.</summary>
    public int MaxConnectionsPerAnonymousNetwork { get; set; } = 1_000;

    /// <summary>
    /// Watch, unwatch, catch-up, chat, chat-history, chat-permission and moderation calls one signed-in user may make in a
    /// burst, over all their connections on a replica. A channel page that reconnects (its channel and 50 pools watched
    /// and caught up on, the chat read) makes about 105 calls: room for four such tabs reconnecting together after a
    /// Realtime restart, and a page more. A signed-out viewer of a front end (the player site's server connects for each)
    /// has it per connection.
    /// </summary>
    public int ReadCallBurst { get; set; } = 525;

    /// <summary>How fast that allowance refills: a user looping those calls gets this many a second.</summary>
    public double ReadCallsPerSecond { get; set; } = 5;

    /// <summary>The same burst for one anonymous client network, shared by its viewers: about ten pages reconnecting at once.</summary>
    public int AnonymousReadCallBurst { get; set; } = 2_500;

    public double AnonymousReadCallsPerSecond { get; set; } = 50;

    public int MaxConnections(Hubs.Caller caller) => caller.Network ? MaxConnectionsPerAnonymousNetwork : MaxConnectionsPerUser;

    public int MaxWatches(Hubs.Caller caller) => caller.Network ? MaxWatchesPerAnonymousNetwork : MaxWatchesPerUser;

    public (int Burst, double PerSecond) ReadCalls(Hubs.Caller caller) =>
        caller.Network ? (AnonymousReadCallBurst, AnonymousReadCallsPerSecond) : (ReadCallBurst, ReadCallsPerSecond);

    public ChatOptions Chat { get; } = new();
}

public sealed class ChatOptions
{
    /// <summary>Longest message, in characters after trimming.</summary>
    public int MaxLength { get; set; } = 300;

    /// <summary>Messages one user may send to one channel per <see cref="RateWindow"/> (a sliding window); refused sends count too.</summary>
    public int RateLimit { get; set; } = 5;

    public TimeSpan RateWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Channels one user may chat in per <see cref="ChannelWindow"/>, refused sends included; a channel counts from the
    /// user's last send there. Each new channel's first message creates keys that live for days (its sequence, history
    /// and replay), and the rate limit above is per channel, so without this one account could fill the shared Redis
    /// by chatting to made-up channels. A viewer rarely chats in more than a few channels in ten minutes.
    /// </summary>
    public int ChannelLimit { get; set; } = 8;

    public TimeSpan ChannelWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a send with a client message id is remembered, so a retry with that id is answered with the stored message.</summary>
    public TimeSpan ClientMessageIdRetention { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Messages kept per channel for late joiners.</summary>
    public int HistoryLength { get; set; } = 100;

    /// <summary>How long a channel's history outlives its last message.</summary>
    public TimeSpan HistoryRetention { get; set; } = TimeSpan.FromDays(1);

    public TimeSpan MaxMute { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a channel keeps its streamer after the last pool created on it.</summary>
    public TimeSpan StreamerRetention { get; set; } = TimeSpan.FromDays(90);
}
