using StreamBets.Pools.Lifecycle;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// The pools' dynamic configuration, changed by operators at run time (<c>PUT /api/pools/admin/config</c>) and kept in
/// the document store. A missing document means these defaults.
/// </summary>
public sealed record PoolsSettings
{
    public int DefaultRakeBasisPoints { get; init; } = 500;
    public long DefaultMinStakeMinor { get; init; } = 100;
    public long DefaultMaxStakeMinor { get; init; } = 100_000;
    public bool OneActivePoolPerChannel { get; init; } = true;
    public int AutoCancelAfterHours { get; init; } = (int)Pool.AbandonedAfter.TotalHours;

    public const int MaxAutoCancelAfterHours = 24 * 7;

    public TimeSpan AbandonedAfter => TimeSpan.FromHours(AutoCancelAfterHours);

    /// <summary>Every broken rule, keyed by field as a ValidationProblem expects.</summary>
    public Dictionary<string, string[]> Problems()
    {
        var errors = new Dictionary<string, string[]>();
        if (DefaultRakeBasisPoints is < 0 or > PoolDefinition.MaxRakeBasisPoints)
        {
            errors["defaultRakeBasisPoints"] = [$"The rake is 0 to {PoolDefinition.MaxRakeBasisPoints} basis points."];
        }

        if (DefaultMinStakeMinor < 1)
        {
            errors["defaultMinStakeMinor"] = ["The minimum stake is at least one minor unit."];
        }

        if (DefaultMaxStakeMinor < DefaultMinStakeMinor)
        {
            errors["defaultMaxStakeMinor"] = ["The maximum stake is at least the minimum stake."];
        }

        if (AutoCancelAfterHours is < 1 or > MaxAutoCancelAfterHours)
        {
            errors["autoCancelAfterHours"] = [$"A locked pool waits 1 to {MaxAutoCancelAfterHours} hours for its result."];
        }

        return errors;
    }
}
