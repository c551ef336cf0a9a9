using System.Text.RegularExpressions;

namespace StreamBets.Pools.Configuration;

/// <summary>A ready-made pool a streamer opens in one click: everything but the channel. Stakes default to the configuration's.</summary>
public sealed record PoolTemplate(string Title, IReadOnlyList<string> Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor);

public static partial class PoolTemplates
{
    public const string Collection = "templates";

    /// <summary>Template ids are short slugs, safe in a URL and as a document id in either store.</summary>
    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    public const string IdRule = "A template id is 1 to 64 lower-case letters, digits or '-'.";

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,63}\z")] // \z, not $: "$" also matches before a final newline
    private static partial Regex IdPattern();
}
