using StreamBets.Settlement.Benchmarks;
using StreamBets.Testing;

// The time to settle ONE pool of N bets through the real services: the Bet Engine streams the bets, Pools computes the
// payouts, Settlement pays every winner through the Users ledger and announces them in BetsSettled events (up to 1,000 bets each).
//
// Self-hosted: PostgreSQL (fsync on) and Redis from the machine's packages; Users, Pools, the Bet Engine and Settlement
// each as its own process from its Release build. The pool's bets are written straight into betsdb (COPY) and their
// stakes put into the pool's escrow through the ledger, so only settlement is timed:
//   dotnet run -c Release --no-build --project benchmarks/StreamBets.Settlement.Benchmarks -- --bets 100000
var options = SettlementBenchmarkOptions.Parse(args);
var speedBefore = HostSpeed.Measure();
var exitCode = await RunAsync();
Console.WriteLine(HostSpeed.Describe(speedBefore, HostSpeed.Measure()));
return exitCode;

async Task<int> RunAsync()
{
    await using var services = await SettlementServices.StartAsync(options);
    // Fresh processes spend their first seconds compiling: the tiered JIT took about 30 % of the box in the first 14 s
    // of a cold 100,000-bet run. Services in production are warm, so small pools settle first, untimed for the goal.
    for (var i = 0; options.WarmupBets > 0 && i < options.WarmupPools; i++)
    {
        var warmup = await BigPool.CreateAsync(services, options with { Bets = options.WarmupBets });
        var warmupReport = await SettlementRun.TimeAsync(services, warmup, options);
        Console.WriteLine($"Warm-up {i + 1} of {options.WarmupPools}: {warmupReport}");
        if (!warmupReport.Exact)
        {
            return 1;
        }
    }
    var pool = await BigPool.CreateAsync(services, options);
    var report = await SettlementRun.TimeAsync(services, pool, options);
    Console.WriteLine(report);
    return report.Exact ? 0 : 1;
}
