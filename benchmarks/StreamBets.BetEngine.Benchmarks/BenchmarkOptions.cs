using StreamBets.Testing;

namespace StreamBets.BetEngine.Benchmarks;

/// <param name="Rate">Bets per second offered (open loop: each request is due at its own time, and its latency is
/// measured from that time, so a stalled server cannot hide queueing from the figures).</param>
/// <param name="BetsPerPlayer">Players bet again on their own outcome; eligibility answers are then served from the
/// Bet Engine's 5-second cache. With 1, every bet comes from a different player.</param>
/// <param name="Tokens">With <c>--signing-key</c> (Users' private key, base64 PKCS#8 as the AppHost keeps it in its user
/// secrets) or <see cref="SelfHost"/>: players and the admin get minted tokens instead of signing in.</param>
/// <param name="ThroughGateway">With <see cref="SelfHost"/>: bets go through the Gateway (JWT check, Redis rate limit,
/// YARP) as players' bets do; players and the pool are still set up directly.</param>
public sealed record BenchmarkOptions(
    string BetsUrl,
    string UsersUrl,
    string PoolsUrl,
    TestTokens? Tokens,
    string AdminEmail,
    string AdminPassword,
    bool SelfHost,
    bool ThroughGateway,
    int Players,
    int Rate,
    TimeSpan Duration,
    TimeSpan Warmup,
    int MaxInFlight,
    int Outcomes)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var arguments = new BenchmarkArguments(args);
        var gateway = arguments.Text("gateway");
        var bets = arguments.Text("bets-url", gateway ?? "http://127.0.0.1:5120");
        return new BenchmarkOptions(
            bets.TrimEnd('/'),
            arguments.Text("users-url", gateway ?? "http://127.0.0.1:5110").TrimEnd('/'),
            arguments.Text("pools-url", gateway ?? "http://127.0.0.1:5130").TrimEnd('/'),
            arguments.Text("signing-key") is { } privateKey ? new TestTokens(privateKey) : null,
            arguments.Text("admin-email", "admin@streambets.local"),
            arguments.Text("admin-password", "local-admin-password"),
            arguments.Flag("self-host"),
            arguments.Flag("through-gateway"),
            arguments.Number("players", 2_000),
            arguments.Number("rate", 5_000),
            TimeSpan.FromSeconds(arguments.Number("duration", 20)),
            TimeSpan.FromSeconds(arguments.Number("warmup", 5)),
            arguments.Number("max-in-flight", 5_000),
            arguments.Number("outcomes", 3));
    }
}
