using System.Text.RegularExpressions;

namespace StreamBets.Pools.Management;

/// <summary>A broadcaster's channel on one streaming platform; written "provider:channelId" in events, queries and keys.</summary>
public sealed partial record Channel(string Provider, string ChannelId)
{
    public static readonly IReadOnlyList<string> Providers = ["twitch", "kick", "youtube"];

    public const int MaxChannelIdLength = 100;

    public override string ToString() => $"{Provider}:{ChannelId}";

    /// <summary>Parses "twitch:12826"; null when the text is not a channel.</summary>
    public static Channel? TryParse(string? text)
    {
        var colon = text?.IndexOf(':') ?? -1;
        if (colon <= 0)
        {
            return null;
        }

        var channel = new Channel(text![..colon].ToLowerInvariant(), text[(colon + 1)..]);
        return channel.Problems().Count == 0 ? channel : null;
    }

    /// <summary>What is wrong with it, keyed by field name as a ValidationProblem expects.</summary>
    public Dictionary<string, string[]> Problems()
    {
        var errors = new Dictionary<string, string[]>();
        if (!Providers.Contains(Provider))
        {
            errors["channel.provider"] = [$"The provider is one of {string.Join(", ", Providers)}."];
        }

        if (string.IsNullOrEmpty(ChannelId) || ChannelId.Length > MaxChannelIdLength || !ChannelIdPattern().IsMatch(ChannelId))
        {
            errors["channel.channelId"] = [$"The channel id is 1 to {MaxChannelIdLength} letters, digits, '_', '-' or '.'."];
        }

        return errors;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+\z")] // \z, not $: "$" also matches before a final newline
    private static partial Regex ChannelIdPattern();
}
