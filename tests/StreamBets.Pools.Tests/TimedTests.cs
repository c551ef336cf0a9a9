namespace StreamBets.Pools.Tests;

/// <summary>Tests that time themselves run alone, so the property tests' threads do not skew the measurement.</summary>
[CollectionDefinition(nameof(TimedTests), DisableParallelization = true)]
public sealed class TimedTests;
