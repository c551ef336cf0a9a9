using StreamBets.Settlement.Benchmarks;

// The time to settle ONE pool of N bets through the real services: the Bet Engine streams the bets, Pools computes the
// payouts, Settlement pays every winner through the Users ledger and announces them in BetsSettled events (up to 1,000 bets each).
//
// Self-hosted: PostgreSQL (fsync on) and Redis from the machine's packages; Users, Pools, the Bet Engine and Settlement
// each as its own process from its Release build. The pool's bets are written straight into betsdb (COPY) and their
// stakes put into the pool's escrow through the ledger, so only settlement is timed:
//   dotnet run -c Release --no-build --project benchmarks/StreamBets.Settlement.Benchmarks -- --bets 100000
var options = SettlementBenchmarkOptions.Parse(args);
await using var services = await SettlementServices.StartAsync(options);
var pool = await BigPool.CreateAsync(services, options);
var report = await SettlementRun.TimeAsync(services, pool, options);
Console.WriteLine(report);
return report.Exact ? 0 : 1;
