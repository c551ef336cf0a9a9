using StreamBets.BetEngine.Benchmarks;
using StreamBets.Testing;

// Bet placement under load: many players bet into ONE pool; reports bets/s and latency percentiles.
//
//   Self-hosted (PostgreSQL + Redis from the machine's packages; Users, Pools and the Bet Engine as their own
//   processes from their Release builds), load at the Bet Engine's REST endpoint:
//     dotnet run -c Release --project benchmarks/StreamBets.BetEngine.Benchmarks -- --self-host --rate 5000
//   The same with the Gateway in front of the Bet Engine, as players reach it:
//     dotnet run -c Release --project benchmarks/StreamBets.BetEngine.Benchmarks -- --self-host --through-gateway --rate 5000
//   Against the running app (./run.sh), through the gateway:
//     dotnet run -c Release --project benchmarks/StreamBets.BetEngine.Benchmarks -- --gateway http://localhost:5100 --rate 5000
var options = BenchmarkOptions.Parse(args);
var speedBefore = HostSpeed.Measure();
await RunAsync();
Console.WriteLine(HostSpeed.Describe(speedBefore, HostSpeed.Measure()));

async Task RunAsync()
{
    await using var selfHosted = options.SelfHost ? await SelfHostedServices.StartAsync(options) : null;
    if (selfHosted is not null)
    {
        options = options with
        {
            BetsUrl = selfHosted.BetEngineUrl,
            UsersUrl = selfHosted.UsersUrl,
            PoolsUrl = selfHosted.PoolsUrl,
            Tokens = selfHosted.Tokens,
        };
    }

    Console.WriteLine($"Bets at {options.BetsUrl}/api/bets; users at {options.UsersUrl}; pools at {options.PoolsUrl}");
    var setup = await BenchmarkSetup.PrepareAsync(options);
    Console.WriteLine($"Pool {setup.PoolId} with {setup.Outcomes.Length} outcomes; {setup.Players.Count} funded players");

    var report = await BetLoad.RunAsync(options, setup);
    Console.WriteLine(report);
    if (selfHosted is not null)
    {
        Console.WriteLine(await selfHosted.VerifyAsync(setup.PoolId, report.Accepted, report.AcceptedStakeMinor));
    }
}
