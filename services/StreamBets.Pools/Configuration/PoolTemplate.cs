using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StreamBets.Contracts;
using StreamBets.Pools.Documents;
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

    public const string IdRule = "A template id is 1 to 64 lower-case letters, digits or '-', starting with a letter or digit.";

    /// <summary>
    /// A stored document as a template, or null (logged) when it is none: a JSON null, or a title that is a number, from
    /// a hand edit or a bad restore. Templates are read as plain JSON first, so one such document fails no read but its own.
    /// </summary>
    public static PoolTemplate? Read(string id, JsonNode? document, ILogger logger)
    {
        try
        {
            if (document?.Deserialize<PoolTemplate>(DocumentStore.Json) is { } template)
            {
                return template;
            }
            LogUnreadable(logger, null, id);
        }
        catch (JsonException e)
        {
            LogUnreadable(logger, e, id);
        }
        return null;
    }

    /// <summary>
    /// The version an admin reads a stored template at: the digest of its values, or of the document itself when it is no
    /// template, so that a PUT or DELETE at that version can still replace or remove it.
    /// </summary>
    public static string VersionOf(JsonNode? document, PoolTemplate? template) => template is null ? ValuesVersion.Of(document) : ValuesVersion.Of(template);

    [LoggerMessage(EventId = 5007, EventName = "PoolTemplateUnreadable", Level = LogLevel.Error,
        Message = "Stored pool template {TemplateId} is not a template, so it is left out of the list and opens no pool; an admin corrects it with a PUT, or removes it with a DELETE, at the version its GET answers")]
    private static partial void LogUnreadable(ILogger logger, Exception? exception, string templateId);

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,63}\z")] // \z, not $: "$" also matches before a final newline
    private static partial Regex IdPattern();
}
