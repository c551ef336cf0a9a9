using StreamBets.Pools.Lifecycle;

namespace StreamBets.Pools.Management;

/// <summary>Rules the service adds around the domain's: who may act, one active pool per channel, concurrent edits.</summary>
public static class ManagementErrors
{
    public const string PoolNotFound = "pool-not-found";
    public const string NotPoolOwner = "not-pool-owner";
    public const string ChannelHasActivePool = "channel-has-active-pool";
    public const string ConcurrencyConflict = "concurrency-conflict";
    public const string ChannelNotYours = "channel-not-yours";
    public const string SettingsUnavailable = "pools-settings-unavailable";
    public const string TemplateUnreadable = "template-unreadable";
    public const string IdempotencyKeyReused = "idempotency-key-reused";

    public static PoolError NotFound(Guid poolId) => new(PoolNotFound, $"No pool has id {poolId}.");

    public static PoolError NotOwner(Channel channel) =>
        new(NotPoolOwner, $"This pool is on channel {channel}, which is not linked to your account: only the streamer it is linked to now, or an admin, can manage its pools.");

    public static PoolError ChannelBusy(Channel channel) =>
        new(ChannelHasActivePool, $"Channel {channel} already has an active pool; resolve or cancel it before opening another.");

    public static PoolError NotYourChannel(Channel channel) =>
        new(ChannelNotYours, $"Channel {channel} is not linked to your account, so you cannot open pools on it. An operator links a streamer's channels (console, Accounts).");

    public static PoolError NoSettings() =>
        new(SettingsUnavailable, "The pools configuration cannot be read right now, so no pool can be opened on its terms; try again shortly.");

    public static PoolError Unreadable(string templateId) =>
        new(TemplateUnreadable, $"The stored template \"{templateId}\" is broken, so no pool can be opened from it; an admin must correct it. Open the pool without the template meanwhile.");

    public static PoolError KeyReused() =>
        new(IdempotencyKeyReused, "This Idempotency-Key was already used to open a pool with another request (channel, template, title, outcomes, window or stakes). Send a new Idempotency-Key for a new pool.");

    public static PoolError Conflict() =>
        new(ConcurrencyConflict, "The pool kept changing while this request was applied; reload it and try again.");

    /// <summary>A request that breaks field rules, as the domain reports an invalid definition.</summary>
    public static PoolError Invalid(Dictionary<string, string[]> fieldErrors) => PoolError.InvalidPool(fieldErrors);

    /// <summary>The request field a <see cref="PoolDefinition"/> rule is about: requests carry seconds and minor units.</summary>
    public static string RequestField(string definitionField) => definitionField switch
    {
        "bettingWindow" => "bettingWindowSeconds",
        "minStake" => "minStakeMinor",
        "maxStake" => "maxStakeMinor",
        _ => definitionField,
    };
}
