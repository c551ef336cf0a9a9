using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace StreamBets.Web.Betting;

/// <summary>
/// A channel as a player types or pastes it, read the one way every form and channel address of the site reads it:
/// <c>twitch:streamer1</c> (any case and spacing around the colon, with or without a leading <c>channel:</c>; a bare
/// <c>streamer1</c> is a Twitch channel), or the
/// platform's channel address (<c>https://twitch.tv/streamer1</c>, <c>kick.com/streamer1</c>,
/// <c>https://www.youtube.com/channel/UC…</c>). Only what Pools takes as a channel is accepted (docs/pools.md: provider
/// twitch, kick or youtube; the id 1 to 100 letters, digits, <c>_</c>, <c>-</c> or <c>.</c>), so nothing is sent that
/// Pools would refuse. A YouTube <c>@handle</c> is not a channel id (that is the <c>UC…</c> one Pools keys channels by), so
/// it is refused rather than guessed at.
/// </summary>
public static partial class ChannelInput
{
    public static readonly IReadOnlyList<string> Providers = ["twitch", "kick", "youtube"];

    public const int MaxChannelIdLength = 100;

    private const string ScopePrefix = "channel:";

    /// <summary>Reads <paramref name="text"/> as a channel; false (and empty values) when it is not one Pools would take.</summary>
    public static bool TryParse(string? text, out string provider, out string channelId)
    {
        (provider, channelId) = ("", "");
        var trimmed = text?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            return false;
        }
        var found = FromAddress(trimmed) is { } address ? address : FromName(trimmed);
        if (found is not { } channel || !IsChannel(channel.Provider, channel.ChannelId))
        {
            return false;
        }
        (provider, channelId) = channel;
        return true;
    }

    /// <summary>Whether Pools takes this as a channel: a known provider (lower case) and an id of the allowed characters.</summary>
    public static bool IsChannel(string provider, string channelId) =>
        Providers.Contains(provider) && channelId.Length is > 0 and <= MaxChannelIdLength && ChannelIdPattern().IsMatch(channelId);

    /// <summary>"twitch:streamer1", "Twitch: streamer1", "channel:twitch:streamer1", "streamer1".</summary>
    private static (string Provider, string ChannelId)? FromName(string text)
    {
        if (text.StartsWith(ScopePrefix, StringComparison.OrdinalIgnoreCase))
        {
            text = text[ScopePrefix.Length..];
        }
        var colon = text.IndexOf(':');
        // A bare name is a Twitch channel, as Home always took it (most streams are on Twitch).
        return colon < 0 ? ("twitch", text) : colon == 0 ? null : (text[..colon].Trim().ToLowerInvariant(), text[(colon + 1)..].Trim());
    }

    /// <summary>A channel's address on its platform, with or without https:// and www.; null when the text is no such address.</summary>
    private static (string Provider, string ChannelId)? FromAddress(string text)
    {
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "https://" + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !uri.Host.Contains('.'))
        {
            return null;
        }
        var host = uri.Host.ToLowerInvariant();
        host = host.StartsWith("www.", StringComparison.Ordinal) ? host[4..] : host.StartsWith("m.", StringComparison.Ordinal) ? host[2..] : host;
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        return (host, segments) switch
        {
            ("twitch.tv", [var name]) => ("twitch", name),
            ("kick.com", [var name]) => ("kick", name),
            ("youtube.com", ["channel", var id, ..]) => ("youtube", id),
            // Another page of the platform (a video, a handle, a directory), or another site: not a channel address.
            _ => ("", ""),
        };
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+\z")] // as Pools' Channel: \z, not $, which also matches before a final newline
    private static partial Regex ChannelIdPattern();
}
