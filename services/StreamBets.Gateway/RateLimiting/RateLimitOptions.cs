namespace StreamBets.Gateway.RateLimiting;

public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimiting";

    public int WindowSeconds { get; set; } = 1;
    public int AnonymousPermitsPerWindow { get; set; } = 20;
    public int AuthenticatedPermitsPerWindow { get; set; } = 50;

    /// <summary>
    /// Every anonymous request from one IPv6 /48 (a site), whatever its /64: on top of each /64's
    /// <see cref="AnonymousPermitsPerWindow"/>, since a /48's holder has 65,536 /64s. Not the /48 alone: a mobile carrier
    /// puts many customers in one /48, who all share this, so it is a generous multiple of the /64's budget (64 x 20).
    /// 0: no /48 budget, each /64 counted on its own.
    /// </summary>
    public int AnonymousSitePermitsPerWindow { get; set; } = 1_280;

    /// <summary>A vouching front end's anonymous calls that name no browser address (token refreshes from a live page).</summary>
    public int FrontEndPermitsPerWindow { get; set; } = 1_000;

    /// <summary>How often a replica shares its counts through Redis: what other replicas may admit beyond a budget.</summary>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}
