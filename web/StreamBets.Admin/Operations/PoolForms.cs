using System.Globalization;
using System.Text.RegularExpressions;

namespace StreamBets.Admin.Operations;

/// <summary>
/// The pool defaults as the form edits them: stakes in reais as typed. Only whether the amounts read as money is
/// checked here; every pool rule is the Pools service's to judge, and its refusal names the field.
/// </summary>
public sealed class ConfigForm
{
    public int RakeBasisPoints { get; set; }
    public string? MinStake { get; set; }
    public string? MaxStake { get; set; }
    public bool OneActivePoolPerChannel { get; set; }
    public int AutoCancelAfterHours { get; set; }
    /// <summary>The version the defaults were read at: the save is refused if another operator's came in between.</summary>
    public string? Version { get; private init; }

    public static ConfigForm Of(PoolsSettings settings) => new()
    {
        Version = settings.Version,
        RakeBasisPoints = settings.DefaultRakeBasisPoints,
        MinStake = Money.ToInput(settings.DefaultMinStakeMinor, CultureInfo.InvariantCulture),
        MaxStake = Money.ToInput(settings.DefaultMaxStakeMinor, CultureInfo.InvariantCulture),
        OneActivePoolPerChannel = settings.OneActivePoolPerChannel,
        AutoCancelAfterHours = settings.AutoCancelAfterHours,
    };

    public PoolsSettings? ToSettings(out ApiProblem? problem)
    {
        var errors = new Dictionary<string, string[]>();
        var min = Stakes.Read(MinStake, "defaultMinStakeMinor", required: true, errors);
        var max = Stakes.Read(MaxStake, "defaultMaxStakeMinor", required: true, errors);
        problem = Stakes.Problem(errors);
        return problem is null ? new PoolsSettings(RakeBasisPoints, min!.Value, max!.Value, OneActivePoolPerChannel, AutoCancelAfterHours, Version) : null;
    }
}

/// <summary>A template as the form edits it: outcomes one per line, optional stakes in reais.</summary>
public sealed class TemplateForm
{
    public string? Id { get; set; }
    public string? Title { get; set; }
    public string? Outcomes { get; set; }
    public int BettingWindowSeconds { get; set; } = 120;
    public string? MinStake { get; set; }
    public string? MaxStake { get; set; }
    /// <summary>Null for a new template; else the version the edited one was read at.</summary>
    public string? Version { get; private init; }

    public static TemplateForm Of(PoolTemplate template) => new()
    {
        Version = template.Version,
        Id = template.Id,
        Title = template.Title,
        Outcomes = string.Join('\n', template.Outcomes),
        BettingWindowSeconds = template.BettingWindowSeconds,
        MinStake = template.MinStakeMinor is { } min ? Money.ToInput(min, CultureInfo.InvariantCulture) : null,
        MaxStake = template.MaxStakeMinor is { } max ? Money.ToInput(max, CultureInfo.InvariantCulture) : null,
    };

    public PoolTemplate? ToTemplate(out ApiProblem? problem)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(Id))
        {
            errors["id"] = ["Give the template an id, such as next-map-winner."];
        }
        var min = Stakes.Read(MinStake, "minStakeMinor", required: false, errors);
        var max = Stakes.Read(MaxStake, "maxStakeMinor", required: false, errors);
        problem = Stakes.Problem(errors);
        var outcomes = (Outcomes ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return problem is null ? new PoolTemplate(Id!.Trim(), Title?.Trim() ?? "", outcomes, BettingWindowSeconds, min, max, Version) : null;
    }
}

/// <summary>The fields Pools names in its answers about the configuration and templates, in the words of the page's forms.</summary>
public static partial class PoolFields
{
    public const string ConfigBreaksTemplates = "config-breaks-templates";

    /// <summary>A configuration field (<c>$</c>: the stored document as a whole).</summary>
    public static string Config(string field) => field switch
    {
        "$" => "The stored document",
        "defaultRakeBasisPoints" => "Rake",
        "defaultMinStakeMinor" => "Minimum stake",
        "defaultMaxStakeMinor" => "Maximum stake",
        "oneActivePoolPerChannel" => "One active pool per channel",
        "autoCancelAfterHours" => "Hours before a locked pool cancels itself",
        _ => field,
    };

    /// <summary>A template field, as config-breaks-templates names it after the template's id ("outcomes[2]": "outcome 3").</summary>
    public static string Template(string field) => field switch
    {
        "title" => "question",
        "outcomes" => "outcomes",
        "bettingWindowSeconds" => "betting window",
        "minStakeMinor" => "minimum stake",
        "maxStakeMinor" => "maximum stake",
        _ when OutcomeKey().Match(field) is { Success: true } outcome => $"outcome {int.Parse(outcome.Groups["index"].Value, CultureInfo.InvariantCulture) + 1}",
        _ => field,
    };

    /// <summary>A refusal of a template save with its errors keyed by the template form's labels ("Maximum stake"), not by key.</summary>
    public static ApiProblem NamingTemplateFields(ApiProblem problem) =>
        Renamed(problem, key => Template(key) is var named && named.Length > 0 ? char.ToUpperInvariant(named[0]) + named[1..] : named);

    /// <summary>
    /// A config-breaks-templates refusal with its errors (keyed <c>templates[quick].maxStakeMinor</c>) keyed by template
    /// and field as an operator reads them ("Template quick, maximum stake"); any other problem as it came.
    /// </summary>
    public static ApiProblem NamingTemplates(ApiProblem problem)
    {
        if (problem.Code != ConfigBreaksTemplates)
        {
            return problem;
        }
        return Renamed(problem, key => TemplateKey().Match(key) is { Success: true } match
            ? $"Template {match.Groups["id"].Value}, {Template(match.Groups["field"].Value)}"
            : key);
    }

    /// <summary><paramref name="problem"/> with each error's key named by <paramref name="name"/>; errors named alike are merged.</summary>
    private static ApiProblem Renamed(ApiProblem problem, Func<string, string> name)
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (key, messages) in problem.Errors)
        {
            var named = name(key);
            errors[named] = [.. errors.GetValueOrDefault(named, []), .. messages];
        }
        return problem with { Errors = errors };
    }

    [GeneratedRegex(@"^templates\[(?<id>[^\]]*)\]\.(?<field>.+)$")]
    private static partial Regex TemplateKey();

    [GeneratedRegex(@"^outcomes\[(?<index>\d+)\]$")]
    private static partial Regex OutcomeKey();
}

internal static class Stakes
{
    public static long? Read(string? text, string field, bool required, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(text) && !required)
        {
            return null;
        }
        if (Money.TryParse(text, out var minor))
        {
            return minor;
        }
        errors[field] = ["Write an amount in reais, such as 1 or 2.50."];
        return null;
    }

    public static ApiProblem? Problem(Dictionary<string, string[]> errors) =>
        errors.Count == 0 ? null : ApiProblem.Of(400, "invalid-request", "Some fields need fixing.") with { Errors = errors };
}
