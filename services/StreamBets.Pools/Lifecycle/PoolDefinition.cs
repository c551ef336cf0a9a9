using StreamBets.Contracts;

namespace StreamBets.Pools.Lifecycle;

/// <summary>
/// What a streamer asks for when creating a pool; <see cref="Pool.Create"/> checks it against the rules below. The rake
/// and <see cref="AutoCancelAfter"/> come from the operators' configuration (<see cref="Pool.AbandonedAfter"/> when none is given).
/// </summary>
public sealed record PoolDefinition(
    string Title,
    IReadOnlyList<string> Outcomes,
    TimeSpan BettingWindow,
    Money MinStake,
    Money MaxStake,
    int RakeBasisPoints,
    TimeSpan? AutoCancelAfter = null)
{
    public const int MaxTitleLength = 45;
    public const int MinOutcomes = 2;
    public const int MaxOutcomes = 10;
    public const int MaxOutcomeLabelLength = 25;
    public const int MaxRakeBasisPoints = 5_000;
    public static readonly TimeSpan MinBettingWindow = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxBettingWindow = TimeSpan.FromSeconds(1800);
    public static readonly TimeSpan MinAutoCancelAfter = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxAutoCancelAfter = TimeSpan.FromHours(24 * 7);

    /// <summary>Every broken rule at once, keyed by the camelCase field name an endpoint received.</summary>
    internal Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (TextProblem(Title, MaxTitleLength) is { } title)
        {
            errors["title"] = [$"The title {title}."];
        }

        var outcomes = Outcomes ?? [];
        if (outcomes.Count is < MinOutcomes or > MaxOutcomes)
        {
            errors["outcomes"] = [$"A pool has {MinOutcomes} to {MaxOutcomes} outcomes, not {outcomes.Count}."];
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (TextProblem(outcomes[i], MaxOutcomeLabelLength) is { } label)
            {
                errors[$"outcomes[{i}]"] = [$"The outcome label {label}."];
            }
            else if (!seen.Add(outcomes[i].Trim()))
            {
                errors[$"outcomes[{i}]"] = [$"The outcome label \"{outcomes[i].Trim()}\" is already used in this pool."];
            }
        }

        if (BettingWindow < MinBettingWindow || BettingWindow > MaxBettingWindow)
        {
            errors["bettingWindow"] = [$"The betting window lasts {MinBettingWindow.TotalSeconds} to {MaxBettingWindow.TotalSeconds} seconds."];
        }

        if (MinStake.MinorUnits < 1)
        {
            errors["minStake"] = ["The minimum stake is at least one minor unit."];
        }

        if (MaxStake < MinStake)
        {
            errors["maxStake"] = ["The maximum stake is at least the minimum stake."];
        }

        if (RakeBasisPoints is < 0 or > MaxRakeBasisPoints)
        {
            errors["rakeBasisPoints"] = [$"The rake is 0 to {MaxRakeBasisPoints} basis points."];
        }

        if (AutoCancelAfter is { } autoCancelAfter && (autoCancelAfter < MinAutoCancelAfter || autoCancelAfter > MaxAutoCancelAfter))
        {
            errors["autoCancelAfter"] = [$"A locked pool waits {MinAutoCancelAfter.TotalHours} to {MaxAutoCancelAfter.TotalHours} hours for its result."];
        }

        return errors;
    }

    /// <summary>
    /// Lengths count Unicode code points of the trimmed text, as PostgreSQL's varchar(n) does, so most emoji count as one
    /// character. Control, line-breaking and invisible characters are refused: a title is one line, PostgreSQL cannot
    /// store a NUL at all, and two outcomes must not look alike ("Yes" and "Yes" with a zero-width space).
    /// </summary>
    private static string? TextProblem(string? text, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "must not be blank";
        }

        if (ShownText.HidesCharacters(text))
        {
            return "must not contain line breaks, tabs, or invisible characters such as zero-width spaces or direction marks";
        }

        var length = 0;
        foreach (var _ in text.Trim().EnumerateRunes())
        {
            length++;
        }

        return length > maxLength ? $"has {length} characters; the limit is {maxLength}" : null;
    }
}
