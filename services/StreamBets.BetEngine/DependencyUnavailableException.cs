namespace StreamBets.BetEngine;

/// <summary>A dependency (Users, Pools) did not answer in time; nothing was decided.</summary>
public sealed class DependencyUnavailableException(string dependency, Exception inner)
    : Exception($"{dependency} did not answer: {inner.Message}", inner)
{
    public string Dependency { get; } = dependency;
}
