using System.Globalization;

namespace StreamBets.BetEngine.Benchmarks;

/// <param name="Rate">Bets per second offered (open loop: each request is due at its own time, and its latency is
/// measured from that time, so a stalled server cannot hide queueing from the figures).</param>
/// <param name="BetsPerPlayer">Players bet again on their own outcome; eligibility answers are then served from the
/// Bet Engine's 5-second cache. With 1, every bet comes from a different player.</param>
/// <param name="ThroughGateway">With <see cref="SelfHost"/>: bets go through the Gateway (JWT check, Redis rate limit,
/// YARP) as players' bets do; players and the pool are still set up directly.</param>
public sealed record BenchmarkOptions(
    string BetsUrl,
    string UsersUrl,
    string PoolsUrl,
    string? SigningKey,
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
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var flags = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            }
            if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                values[args[i][2..]] = args[++i];
            }
            else
            {
                flags.Add(args[i][2..]);
            }
        }

        string Value(string name, string fallback) => values.GetValueOrDefault(name, fallback);
        int Number(string name, int fallback) => int.Parse(Value(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

        var gateway = values.GetValueOrDefault("gateway");
        var bets = Value("bets-url", gateway ?? "http://127.0.0.1:5120");
        return new BenchmarkOptions(
            bets.TrimEnd('/'),
            Value("users-url", gateway ?? "http://127.0.0.1:5110").TrimEnd('/'),
            Value("pools-url", gateway ?? "http://127.0.0.1:5130").TrimEnd('/'),
            values.GetValueOrDefault("signing-key"),
            Value("admin-email", "admin@streambets.local"),
            Value("admin-password", "local-admin-password"),
            flags.Contains("self-host"),
            flags.Contains("through-gateway"),
            Number("players", 2_000),
            Number("rate", 5_000),
            TimeSpan.FromSeconds(Number("duration", 20)),
            TimeSpan.FromSeconds(Number("warmup", 5)),
            Number("max-in-flight", 5_000),
            Number("outcomes", 3));
    }
}
