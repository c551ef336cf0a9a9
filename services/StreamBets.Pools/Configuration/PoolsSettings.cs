using StreamBets.Contracts;
using StreamBets.Pools.Lifecycle;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// The pools' dynamic configuration, changed by operators at run time (<c>PUT /api/pools/admin/config</c>) and kept in
/// the document store. A missing document means these defaults. A pool takes the rake, stakes and auto-cancel term in
/// force when it is created and keeps them for life.
/// </summary>
public sealed record PoolsSettings
{
    public int DefaultRakeBasisPoints { get; init; } = 500;
    public long DefaultMinStakeMinor { get; init; } = 100;
    public long DefaultMaxStakeMinor { get; init; } = 100_000;
    public bool OneActivePoolPerChannel { get; init; } = true;
    public int AutoCancelAfterHours { get; init; } = (int)Pool.AbandonedAfter.TotalHours;

    /// <summary>The auto-cancel term; only for settings that pass <see cref="Problems"/> (a huge number of hours is no TimeSpan).</summary>
    public TimeSpan AbandonedAfter => TimeSpan.FromHours(AutoCancelAfterHours);

    /// <summary>Every broken rule, keyed by field as a ValidationProblem expects. Never throws, whatever the values.</summary>
    public Dictionary<string, string[]> Problems()
    {
        // The hours are range-checked before they become a TimeSpan: int.MaxValue hours overflows one.
        var termInRange = AutoCancelAfterHours >= PoolDefinition.MinAutoCancelAfter.TotalHours && AutoCancelAfterHours <= PoolDefinition.MaxAutoCancelAfter.TotalHours;
        // The defaults must make valid pools, so the pool rules judge them (around a placeholder question).
        var sample = new PoolDefinition(
            "sample", ["a", "b"], PoolDefinition.MinBettingWindow, new Money(DefaultMinStakeMinor), new Money(DefaultMaxStakeMinor), DefaultRakeBasisPoints,
            termInRange ? AbandonedAfter : null);
        var errors = sample.Validate().ToDictionary(
            e => e.Key switch
            {
                "minStake" => "defaultMinStakeMinor",
                "maxStake" => "defaultMaxStakeMinor",
                "autoCancelAfter" => "autoCancelAfterHours",
                _ => "defaultRakeBasisPoints",
            },
            e => e.Value);
        if (!termInRange)
        {
            errors["autoCancelAfterHours"] = [AutoCancelAfterRule];
        }
        return errors;
    }

    private static readonly string AutoCancelAfterRule =
        $"A locked pool waits {PoolDefinition.MinAutoCancelAfter.TotalHours} to {PoolDefinition.MaxAutoCancelAfter.TotalHours} hours for its result.";
}
