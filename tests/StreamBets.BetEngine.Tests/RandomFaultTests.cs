using System.Globalization;
using StreamBets.BetEngine.Data;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// Rounds of bets placed into one pool through two replicas while a seeded random schedule injects the faults the other
/// tests stage one at a time: a ledger call failing before it applies, or applying with its answer lost; refunds refused;
/// a live batch or a recoverer stalled past the grace period while another recoverer claims its bets; a recoverer
/// restarted. Then recovery runs to the end, and the pool's escrow holds exactly its accepted stakes, each moved once,
/// every rejected moved stake paid back once (<see cref="EscrowInvariant"/>, also checked after every round).
/// A failure names its seed; <c>BETENGINE_FAULT_SEED</c> runs that seed alone.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class RandomFaultTests(BetEngineStack stack, ITestOutputHelper output)
{
    private const int Rounds = 24;
    private static readonly long[] PlayerFunds = [30_000, 20_000, 8_000, 4_000, 1_500, 0];
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(20261207)]
    [InlineData(1337)]
    [InlineData(90210)]
    public async Task Bets_placed_through_random_ledger_faults_stalls_and_restarts_leave_the_escrow_holding_exactly_the_accepted_stakes(int seed)
    {
        if (Environment.GetEnvironmentVariable("BETENGINE_FAULT_SEED") is { Length: > 0 } chosen)
        {
            seed = int.Parse(chosen, CultureInfo.InvariantCulture);
        }
        var run = new FaultRun(stack, seed);
        try
        {
            await run.RunAsync();
            output.WriteLine($"Seed {seed}:\n  {string.Join("\n  ", run.Log)}");
        }
        catch (Exception e)
        {
            throw new XunitException(
                $"Random fault run with seed {seed} failed (BETENGINE_FAULT_SEED={seed} replays it).\n{e.Message}\nWhat ran:\n  {string.Join("\n  ", run.Log)}", e);
        }
    }

    private sealed class FaultRun(BetEngineStack stack, int seed)
    {
        private readonly Random _random = new(seed);
        private readonly BetEngineReplica[] _replicas = [new(stack, "replica-a"), new(stack, "replica-b")];
        private readonly Dictionary<Guid, long> _deposits = [];
        private int _restarts;
        private TestPool _pool = null!;
        private TestPlayer[] _players = null!;

        public List<string> Log { get; } = [];

        public async Task RunAsync()
        {
            _pool = await stack.NewPoolAsync(outcomes: 3, windowSeconds: 1_800);
            _players = [.. await Task.WhenAll(PlayerFunds.Select(funds => stack.NewPlayerAsync(funds)))];
            // Each player mostly backs one outcome, now and then tries another.
            var favourite = _players.Select(_ => _random.Next(_pool.Outcomes.Length)).ToArray();

            for (var round = 0; round < Rounds; round++)
            {
                var start = RecoveryTests.Now(stack);
                var batch = Enumerable.Range(0, _random.Next(1, 5)).Select(i =>
                {
                    var p = _random.Next(_players.Length);
                    var outcome = _random.NextDouble() < 0.75 ? favourite[p] : _random.Next(_pool.Outcomes.Length);
                    var bet = stack.Admit(_players[p], _pool, _pool.Outcomes[outcome], _random.Next(1, 31) * 100);
                    return bet with { ArrivedAt = start + TimeSpan.FromTicks(10 * i) }; // a fixed placement order
                }).ToArray();
                var live = _replicas[_random.Next(_replicas.Length)];
                Log.Add($"round {round}: {batch.Length} bets via {live} [{string.Join(", ", batch.Select(Describe))}]");
                await LiveBatchAsync(live, batch);

                if (_random.NextDouble() < 0.35)
                {
                    var p = _random.Next(_players.Length);
                    var amount = _random.Next(1, 21) * 100L;
                    Log.Add($"  deposit {amount} to player {p}");
                    await DepositAsync(_players[p], amount);
                }
                if (_random.NextDouble() < 0.5)
                {
                    await RecoveryStepAsync(exclude: null);
                }
                await EscrowInvariant.AssertAsync(stack, _pool, settled: false, $"After round {round}: ");
            }

            await DrainAsync();
            await EscrowInvariant.AssertAsync(stack, _pool, settled: true, "After recovery ran to the end: ");

            // Every player has what they had, plus their deposits, less their accepted stakes: nothing else moved.
            var bets = await EscrowInvariant.ReadAsync(stack, _pool.Id);
            for (var p = 0; p < _players.Length; p++)
            {
                var staked = bets.Where(b => b.UserId == _players[p].Id && b.Status == "accepted").Sum(b => b.StakeMinor);
                Assert.Equal(PlayerFunds[p] + _deposits.GetValueOrDefault(_players[p].Id) - staked, await stack.BalanceAsync(_players[p].Account));
            }
            Assert.True(bets.Count > Rounds, $"Only {bets.Count} bets were recorded.");
            Log.Add($"end: {bets.Count(b => b.Status == "accepted")} accepted, {bets.Count(b => b.Status == "rejected")} rejected, " +
                $"{bets.Count(b => b.RefundTransfers == 1)} refunded, {_restarts} restarts");
        }

        private enum Fault { None, FailBeforeTheLedger, AnswerLost, RefundRefused, StalledPastGrace }

        private async Task LiveBatchAsync(BetEngineReplica live, AdmittedBet[] batch)
        {
            var fault = Pick((Fault.None, 40), (Fault.FailBeforeTheLedger, 12), (Fault.AnswerLost, 14), (Fault.RefundRefused, 12), (Fault.StalledPastGrace, 22));
            Log.Add($"  live batch: {fault}");
            IReadOnlyList<PlacementResult> told = [];
            // Stalled, the batch's stakes are applied and its answer waits while recovery, past its grace period, claims
            // the bets and re-drives them; then the batch goes on with its stale answer (or dies).
            await RunWithFaultAsync(live, fault, () => live.Pipeline.RunAsync(_pool.Id, batch, answers => told = answers, default), "live batch", 0.3, takeOverExcluding: null);
            Log.Add($"  told: {string.Join(", ", told.Select(Told))}");
        }

        /// <summary>One recovery round on a replica (restarted now and then), with a fault of its own.</summary>
        private async Task RecoveryStepAsync(int? exclude)
        {
            var index = exclude is { } busy ? 1 - busy : _random.Next(_replicas.Length);
            if (_random.NextDouble() < 0.2)
            {
                _replicas[index] = new BetEngineReplica(stack, $"replica-{(char)('a' + index)}{++_restarts}");
                Log.Add($"  {_replicas[index]} restarted");
            }
            var recoverer = _replicas[index];
            // The stalled case needs another replica to take over: not from inside another stall.
            var fault = exclude is null
                ? Pick((Fault.None, 40), (Fault.FailBeforeTheLedger, 15), (Fault.AnswerLost, 15), (Fault.RefundRefused, 15), (Fault.StalledPastGrace, 15))
                : Pick((Fault.None, 50), (Fault.FailBeforeTheLedger, 15), (Fault.AnswerLost, 20), (Fault.RefundRefused, 15));
            Log.Add($"  recovery on {recoverer}: {fault}");
            // Stalled past its grace period (none here), the other replica claims the same bets again.
            await RunWithFaultAsync(recoverer, fault, () => recoverer.Recovery.RecoverAsync(TimeSpan.Zero, default), recoverer.ToString()!, 0.4, takeOverExcluding: index);
        }

        /// <summary>
        /// Runs <paramref name="run"/> with <paramref name="fault"/> armed on <paramref name="replica"/>'s ledger. A stall holds
        /// its stake call once applied while another recovery round runs, then lets it go on or loses its answer.
        /// </summary>
        private async Task RunWithFaultAsync(BetEngineReplica replica, Fault fault, Func<Task> run, string who, double dies, int? takeOverExcluding)
        {
            switch (fault)
            {
                case Fault.FailBeforeTheLedger:
                    replica.Ledger.Next(LedgerFault.FailBeforeApplying, ReplicaLedger.CallKind.Stakes, _pool.Id);
                    break;
                case Fault.AnswerLost:
                    replica.Ledger.Next(LedgerFault.LoseAnswerAfterApplying, ReplicaLedger.CallKind.Stakes, _pool.Id);
                    break;
                case Fault.RefundRefused:
                    replica.Ledger.Next(LedgerFault.RefuseRefunds, ReplicaLedger.CallKind.Refunds, _pool.Id);
                    break;
                case Fault.StalledPastGrace:
                    var hold = replica.Ledger.Hold(LedgerFault.HoldAfterApplying, ReplicaLedger.CallKind.Stakes, _pool.Id);
                    var running = run();
                    if (await Task.WhenAny(hold.Reached, running).WaitAsync(Wait) == hold.Reached)
                    {
                        await RecoveryStepAsync(takeOverExcluding);
                        var lost = _random.NextDouble() < dies;
                        Log.Add(lost ? $"  {who}: its answer is lost" : $"  {who}: goes on");
                        if (lost)
                        {
                            hold.LoseAnswer();
                        }
                        else
                        {
                            hold.Release();
                        }
                    }
                    else
                    {
                        Log.Add($"  {who}: sent no stake");
                    }
                    await running.WaitAsync(Wait);
                    replica.Ledger.Clear();
                    return;
            }
            await run().WaitAsync(Wait);
            replica.Ledger.Clear();
        }

        /// <summary>Recovery runs to the end on a fresh replica with a sound ledger: each round past the longest wait after
        /// a refused refund, until no bet of the pool is pending and no refund is due.</summary>
        private async Task DrainAsync()
        {
            var recoverer = new BetEngineReplica(stack, "final-recoverer");
            var ahead = TimeSpan.Zero;
            try
            {
                for (var round = 0; ; round++)
                {
                    var step = BetStore.RefundRetryMaxWait + TimeSpan.FromMinutes(1);
                    stack.Clock.Advance(step);
                    ahead += step;
                    await recoverer.Recovery.RecoverAsync(TimeSpan.Zero, default).WaitAsync(Wait);
                    var left = await stack.ScalarAsync(
                        "SELECT count(*) FROM bets WHERE pool_id = $1 AND (status = 'pending' OR refund_status = 'due')", _pool.Id);
                    Log.Add($"drain round {round}: {left} bets pending or owed a refund");
                    if (left == 0)
                    {
                        return;
                    }
                    Assert.True(round < 3, $"Recovery did not finish: {left} bets still pending or owed a refund after {round + 1} sound rounds.");
                }
            }
            finally
            {
                stack.Clock.Advance(-ahead);
            }
        }

        private async Task DepositAsync(TestPlayer player, long amount)
        {
            await stack.Wallet.TransferAsync(new TransferRequest
            {
                TransferId = Guid.NewGuid().ToString(),
                Reason = "sandbox-credit",
                Legs = { new Leg { FromAccount = "psp:clearing", ToAccount = player.Account, AmountMinor = amount } },
            });
            _deposits[player.Id] = _deposits.GetValueOrDefault(player.Id) + amount;
        }

        private T Pick<T>(params (T Value, int Weight)[] choices)
        {
            var roll = _random.Next(choices.Sum(c => c.Weight));
            foreach (var (value, weight) in choices)
            {
                if ((roll -= weight) < 0)
                {
                    return value;
                }
            }
            throw new InvalidOperationException("Unreachable.");
        }

        private string Describe(AdmittedBet bet) =>
            $"p{Array.FindIndex(_players, p => p.Id == bet.Command.UserId)}/o{Array.IndexOf(_pool.Outcomes, bet.Command.OutcomeId)}/{bet.Command.StakeMinor} {bet.BetId}";

        private static string Told(PlacementResult answer) =>
            (answer.Bet is { } bet ? bet.Status.ToString() : "refused") + (answer.Rejection is { } r ? $" ({r.Code})" : "");
    }
}
