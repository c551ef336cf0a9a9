using System.Text.RegularExpressions;
using Microsoft.Extensions.Localization;
using StreamBets.Web.Betting;

namespace StreamBets.Web.Live;

/// <summary>
/// The player's message for a chat call the hub refused, chosen by the refusal's code (resource key <c>Chat_{code}</c>).
/// The hub's text is English and reaches the page behind the SignalR client's own prefix ("An unexpected error occurred
/// invoking 'SendChat' on the server. HubException: muted: ..."), so only its code and its wait are kept.
/// </summary>
public static partial class ChatRefusal
{
    public const string KeyPrefix = "Chat_";

    /// <summary>The code <see cref="LiveUpdates"/> gives a call made while the hub is out of reach.</summary>
    public const string Offline = "offline";

    // Refusals whose text ends with the seconds to wait (docs/realtime.md, "Errors"): their message names the wait
    // (key "{code}-wait").
    private static readonly HashSet<string> Waits = ["muted", "rate-limited"];

    public static string Text(Exception refused, IStringLocalizer localizer)
    {
        var match = Refusal().Match(refused.Message);
        var code = match.Success ? match.Groups["code"].Value : "";
        if (Waits.Contains(code) && LastNumber().Match(match.Groups["text"].Value) is { Success: true } seconds
            && long.TryParse(seconds.Value, out var wait))
        {
            return localizer[KeyPrefix + code + "-wait", Countdown.Format(TimeSpan.FromSeconds(wait))];
        }
        var text = localizer[KeyPrefix + code];
        return text.ResourceNotFound ? localizer[KeyPrefix + "refused"].Value : text.Value;
    }

    // "code: text", after the client's prefix when there is one.
    [GeneratedRegex(@"(?:HubException: |^)(?<code>[a-z]+(?:-[a-z]+)*): (?<text>.*)$", RegexOptions.Singleline)]
    private static partial Regex Refusal();

    [GeneratedRegex(@"\d+(?=\D*$)")]
    private static partial Regex LastNumber();
}
