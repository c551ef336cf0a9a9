using System.Collections.Concurrent;
using StreamBets.Users.Ledger;
using Xunit.Abstractions;
using static StreamBets.Users.Tests.LedgerTestRequests;

namespace StreamBets.Users.Tests;

/// <summary>
/// Random deposits, stakes, transfers between players, multi-leg settlements, withdrawals, batches,
/// replays and reused ids, from concurrent clients. After every round the ledger must balance, no
/// wallet may be negative, every balance must equal its entries, and every balance must equal what
/// the transfers the ledger reported as applied add up to.
/// </summary>
public sealed class LedgerPropertyTests(LedgerTestDatabase db, ITestOutputHelper output) : IClassFixture<LedgerTestDatabase>
{
    private const int Rounds = 20;
    private const int ClientsPerRound = 4;
    private const int OperationsPerClient = 25;

    private readonly LedgerAccountId[] _users = [.. Enumerable.Range(0, 12).Select(_ => NewUser())];
    private readonly LedgerAccountId[] _pools = [.. Enumerable.Range(0, 3).Select(_ => NewPool())];
    private readonly ConcurrentDictionary<Guid, CommittedTransfer> _applied = new();
    private readonly ConcurrentBag<TransferRequest> _sent = [];
    private int _requests;

    [Fact]
    public async Task Thousands_of_random_operations_keep_the_ledger_balanced_with_no_wallet_below_zero()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");

        for (var round = 0; round < Rounds; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, ClientsPerRound).Select(client =>
                Task.Run(() => RunClientAsync(new Random(HashCode.Combine(seed, round, client))))));

            var snapshot = await db.SnapshotAsync();
            snapshot.AssertConsistent();
            var expected = _applied.Values.SelectMany(t => t.Postings)
                .GroupBy(p => p.Account.Code)
                .ToDictionary(g => g.Key, g => g.Sum(p => p.AmountMinor));
            foreach (var (code, balance) in snapshot.Balances)
            {
                Assert.True(expected.GetValueOrDefault(code) == balance,
                    $"Round {round}, seed {seed}: {code} holds {balance} but applied transfers add up to {expected.GetValueOrDefault(code)}.");
            }
            Assert.Equal(_applied.Count, snapshot.TransferCount);
        }

        output.WriteLine($"{_requests} transfer requests, {_applied.Count} applied");
        Assert.True(_requests >= 3_000);
    }

    private async Task RunClientAsync(Random random)
    {
        for (var i = 0; i < OperationsPerClient; i++)
        {
            switch (random.Next(10))
            {
                case < 6:
                    var single = RandomTransfer(random);
                    var appliedBeforeSingle = AppliedAlready(single);
                    Check(single, appliedBeforeSingle, await db.Ledger.TransferAsync(single));
                    break;
                case < 8:
                    var batch = Enumerable.Range(0, random.Next(5, 40)).Select(_ => random.Next(10) == 0 ? Replay(random) ?? RandomTransfer(random) : RandomTransfer(random)).ToArray();
                    var appliedBeforeBatch = batch.Select(AppliedAlready).ToArray();
                    var outcomes = await db.Ledger.TransferBatchAsync(batch);
                    for (var b = 0; b < batch.Length; b++)
                    {
                        Check(batch[b], appliedBeforeBatch[b], outcomes[b]);
                    }
                    break;
                case 8:
                    var replay = Replay(random) ?? RandomTransfer(random);
                    var appliedBeforeReplay = AppliedAlready(replay);
                    Check(replay, appliedBeforeReplay, await db.Ledger.TransferAsync(replay));
                    break;
                default:
                    await ReuseAnAppliedIdAsync(random);
                    break;
            }
        }
    }

    private TransferRequest RandomTransfer(Random random)
    {
        var user = _users[random.Next(_users.Length)];
        var pool = _pools[random.Next(_pools.Length)];
        TransferRequest request = random.Next(6) switch
        {
            0 or 1 => Deposit(user, random.Next(1, 5_000)),
            2 => Stake(user, pool, random.Next(1, 3_000)),
            3 => Move(user, _users[random.Next(_users.Length)] is var other && other != user ? other : _users[(Array.IndexOf(_users, user) + 1) % _users.Length], random.Next(1, 2_000)),
            4 => Settlement(random, pool),
            _ => new TransferRequest(NewId(), "withdrawal", [TransferLeg.Between(user, LedgerAccountId.PspClearing, random.Next(1, 2_000))]),
        };
        _sent.Add(request);
        return request;
    }

    /// <summary>Pays a few winners, the rake and the breakage out of a pool's escrow in one transfer.</summary>
    private TransferRequest Settlement(Random random, LedgerAccountId pool)
    {
        var legs = Enumerable.Range(0, random.Next(1, 5))
            .Select(_ => TransferLeg.Between(pool, _users[random.Next(_users.Length)], random.Next(1, 1_500)))
            .Append(TransferLeg.Between(pool, LedgerAccountId.HouseRake, random.Next(1, 200)))
            .Append(TransferLeg.Between(pool, LedgerAccountId.HouseBreakage, random.Next(1, 3)))
            .ToArray();
        return new TransferRequest(NewId(), "settlement", legs, Reference: pool.Owner.ToString());
    }

    private TransferRequest? Replay(Random random)
    {
        var sent = _sent.ToArray();
        return sent.Length == 0 ? null : sent[random.Next(sent.Length)];
    }

    private async Task ReuseAnAppliedIdAsync(Random random)
    {
        var applied = _applied.Values.ToArray();
        if (applied.Length == 0)
        {
            return;
        }
        var earlier = applied[random.Next(applied.Length)];
        var reuse = Deposit(_users[random.Next(_users.Length)], random.Next(1, 100), earlier.TransferId.ToString());
        var outcome = await db.Ledger.TransferAsync(reuse);
        Interlocked.Increment(ref _requests);
        Assert.Equal(LedgerErrors.IdempotencyKeyReused, outcome.ErrorReason);
    }

    /// <summary>
    /// The transfer the ledger had already reported applied when <paramref name="request"/> was sent, taken before
    /// sending: one applied by a concurrent request meanwhile may still answer anything, since that request could
    /// have been refused first, but one applied before must answer duplicate, never "nothing moved".
    /// </summary>
    private CommittedTransfer? AppliedAlready(TransferRequest request) =>
        _applied.GetValueOrDefault(Guid.Parse(request.TransferId));

    private void Check(TransferRequest request, CommittedTransfer? appliedBefore, TransferOutcome outcome)
    {
        Interlocked.Increment(ref _requests);
        Assert.Equal(request.TransferId, outcome.TransferId);
        if (appliedBefore is not null)
        {
            Assert.True(outcome.Status == TransferStatus.Duplicate,
                $"Transfer {request.TransferId} was applied before, yet its replay answered {outcome.Status} {outcome.ErrorReason}.");
            Assert.Equal(appliedBefore.Sequence, outcome.Transfer!.Sequence);
        }
        switch (outcome.Status)
        {
            case TransferStatus.Applied:
                Assert.True(_applied.TryAdd(outcome.Transfer!.TransferId, outcome.Transfer), $"Transfer {request.TransferId} was applied twice.");
                Assert.Equal(0, outcome.Transfer.Postings.Sum(p => p.AmountMinor));
                break;
            case TransferStatus.Duplicate:
                Assert.NotNull(outcome.Transfer);
                break;
            case TransferStatus.InsufficientFunds:
                Assert.Null(outcome.Transfer);
                break;
            default:
                Assert.Fail($"{request.TransferId} was rejected: {outcome.ErrorReason} {outcome.Detail}");
                break;
        }
    }
}
