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

    public TimeSpan AbandonedAfter => TimeSpan.FromHours(AutoCancelAfterHours);

    /// <summary>Every broken rule, keyed by field as a ValidationProblem expects.</summary>
    public Dictionary<string, string[]> Problems()
    {
        // The defaults must make valid pools, so the pool rules judge them (around a placeholder question).
        var sample = new PoolDefinition(
            "sample", ["a", "b"], PoolDefinition.MinBettingWindow, new Money(DefaultMinStakeMinor), new Money(DefaultMaxStakeMinor), DefaultRakeBasisPoints,
            AbandonedAfter);
        return sample.Validate().ToDictionary(
            e => e.Key switch
            {
                "minStake" => "defaultMinStakeMinor",
                "maxStake" => "defaultMaxStakeMinor",
                "autoCancelAfter" => "autoCancelAfterHours",
                _ => "defaultRakeBasisPoints",
            },
            e => e.Value);
    }
}
