using StreamBets.Pools.Lifecycle;

namespace StreamBets.Pools.Management;

/// <summary>
/// A pool as the service keeps it: the domain <see cref="Lifecycle.Pool"/> plus who runs it, where, and the row version
/// that optimistic concurrency checks on every save.
/// </summary>
public sealed class StoredPool(Pool pool, Channel channel, Guid createdBy, string? templateId, bool exclusive, DateTimeOffset createdAt, int version)
{
    public Pool Pool { get; } = pool;
    public Channel Channel { get; } = channel;
    public Guid CreatedBy { get; } = createdBy;
    public string? TemplateId { get; } = templateId;

    /// <summary>Created while "one active pool per channel" was on, so the unique index counts it.</summary>
    public bool Exclusive { get; } = exclusive;

    public DateTimeOffset CreatedAt { get; } = createdAt;

    /// <summary>The version loaded; a save succeeds only if the row still has it, and then increments it.</summary>
    public int Version { get; internal set; } = version;

    /// <summary>"streamer" or "admin" when cancelled by hand.</summary>
    public string? CancelledByRole { get; internal set; }

    /// <summary>When Settlement paid the pool out (PoolSettled); null until then.</summary>
    public DateTimeOffset? SettledAt { get; internal set; }
}

/// <summary>Who is asking: a channel's pools are for the streamer it is linked to now, or an admin.</summary>
/// <param name="Name">The display name from the token: what the admins' change history shows.</param>
public sealed record Caller(Guid UserId, bool IsAdmin, string Name = "")
{
    /// <summary>
    /// Whether the caller may open and run pools on a channel whose current owner (<see cref="ChannelOwners.OwnerOfAsync"/>)
    /// is <paramref name="channelOwnerId"/>: its owner may, and any admin; a streamer the channel has left may not,
    /// even for the pools they opened there.
    /// </summary>
    public bool RunsPoolsOf(Guid? channelOwnerId) => IsAdmin || channelOwnerId == UserId;

    public string Role => IsAdmin ? "admin" : "streamer";
}
