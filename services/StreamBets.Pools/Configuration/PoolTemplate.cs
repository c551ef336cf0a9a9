using System.Text.RegularExpressions;
using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Configuration;

/// <summary>A ready-made pool a streamer opens in one click: everything but the channel. Stakes default to the configuration's.</summary>
public sealed record PoolTemplate(string Title, IReadOnlyList<string> Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor)
{
    /// <summary>
    /// Every rule a pool opened from this template would break under <paramref name="config"/> (its stakes and rake where
    /// the template names none), keyed by the template's request field; empty when it makes a valid pool.
    /// </summary>
    public Dictionary<string, string[]> Problems(PoolsSettings config)
    {
        var definition = new PoolDefinition(
            Title, Outcomes ?? [], TimeSpan.FromSeconds(BettingWindowSeconds),
            new Money(MinStakeMinor ?? config.DefaultMinStakeMinor), new Money(MaxStakeMinor ?? config.DefaultMaxStakeMinor), config.DefaultRakeBasisPoints);
        return definition.Validate().ToDictionary(e => ManagementErrors.RequestField(e.Key), e => e.Value);
    }
}

public static partial class PoolTemplates
{
    public const string Collection = "templates";

    /// <summary>Template ids are short slugs, safe in a URL and as a document id in either store.</summary>
    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    public const string IdRule = "A template id is 1 to 64 lower-case letters, digits or '-'.";

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,63}\z")] // \z, not $: "$" also matches before a final newline
    private static partial Regex IdPattern();
}
