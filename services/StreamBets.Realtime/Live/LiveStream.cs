using System.Text.RegularExpressions;

namespace StreamBets.Realtime.Live;

/// <summary>
/// An ordered stream of pushes with its own sequence numbers: a pool, a channel, or one user's notifications.
/// <paramref name="Group"/> is the SignalR group that receives it and the Redis name of its sequence and replay;
/// <paramref name="Name"/> is what clients see in payloads and pass to CatchUp ("user" for their own stream).
/// </summary>
public readonly record struct LiveStream(string Name, string Group)
{
    public static LiveStream Pool(Guid poolId) => Same($"pool:{poolId}");

    /// <param name="channel">Already normalised by <see cref="ChannelNames.TryNormalise"/>.</param>
    public static LiveStream Channel(string channel) => Same($"channel:{channel}");

    public static LiveStream User(Guid userId) => new("user", $"user:{userId}");

    /// <summary>The stream a client names in CatchUp; "user" is the caller's own, so nobody reads another user's stream.</summary>
    public static LiveStream? TryParse(string? name, Guid? caller)
    {
        if (name is null)
        {
            return null;
        }
        if (name == "user")
        {
            return caller is { } userId ? User(userId) : null;
        }
        if (name.StartsWith("pool:", StringComparison.Ordinal) && Guid.TryParse(name.AsSpan(5), out var poolId))
        {
            return Pool(poolId);
        }
        if (name.StartsWith("channel:", StringComparison.Ordinal) && ChannelNames.TryNormalise(name[8..]) is { } channel)
        {
            return Channel(channel);
        }
        return null;
    }

    private static LiveStream Same(string name) => new(name, name);
}

/// <summary>A channel is written "provider:channelId" ("twitch:12826"), the way the Pools service writes it in events.</summary>
public static partial class ChannelNames
{
    /// <summary>"Twitch:12826" becomes "twitch:12826"; null when the text is not a channel.</summary>
    public static string? TryNormalise(string? channel)
    {
        var colon = channel?.IndexOf(':') ?? -1;
        if (colon <= 0)
        {
            return null;
        }
        var normalised = string.Concat(channel![..colon].ToLowerInvariant(), channel[colon..]);
        return ChannelPattern().IsMatch(normalised) ? normalised : null;
    }

    [GeneratedRegex(@"^(twitch|kick|youtube):[A-Za-z0-9_.-]{1,100}\z")] // \z, not $: "$" also matches before a final newline
    private static partial Regex ChannelPattern();
}
