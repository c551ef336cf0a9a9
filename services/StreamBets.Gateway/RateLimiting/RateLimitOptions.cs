namespace StreamBets.Gateway.RateLimiting;

public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimiting";

    public int WindowSeconds { get; set; } = 1;
    public int AnonymousPermitsPerWindow { get; set; } = 20;
    public int AuthenticatedPermitsPerWindow { get; set; } = 50;

    /// <summary>A vouching front end's anonymous calls that name no browser address (token refreshes from a live page).</summary>
    public int FrontEndPermitsPerWindow { get; set; } = 1_000;

    /// <summary>How often a replica shares its counts through Redis: what other replicas may admit beyond a budget.</summary>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}
