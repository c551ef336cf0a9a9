using StreamBets.Testing;

namespace StreamBets.Settlement.Benchmarks;

/// <param name="Bets">Bets in the pool, one per player.</param>
/// <param name="Outcomes">Outcomes of the pool; the first wins, so about 1/Outcomes of the bets are paid.</param>
/// <param name="BetsPerChunk">Settlement:BetsPerChunk (bets per Bet Engine / Pools chunk).</param>
/// <param name="BetsPerPayment">Settlement:BetsPerPayment (bets per TransferBatch and settlementdb transaction).</param>
/// <param name="PaymentConcurrency">Settlement:PaymentConcurrency.</param>
/// <param name="WarmupBets">Bets of a pool settled first, untimed, so the timed pool meets warm services (0: none).</param>
/// <param name="WarmupPools">How many such pools: a method is recompiled at tier 1 after 30 calls, and one small pool
/// calls the batch-level code only a few times.</param>
public sealed record SettlementBenchmarkOptions(int Bets, int Outcomes, int BetsPerChunk, int BetsPerPayment, int PaymentConcurrency, int WarmupBets, int WarmupPools, TimeSpan Timeout)
{
    public static SettlementBenchmarkOptions Parse(string[] args)
    {
        var arguments = new BenchmarkArguments(args);
        return new SettlementBenchmarkOptions(
            arguments.Number("bets", 100_000),
            arguments.Number("outcomes", 2),
            arguments.Number("chunk", 10_000),
            arguments.Number("payment", 5_000),
            arguments.Number("payment-concurrency", 2),
            arguments.Number("warmup-bets", 20_000),
            arguments.Number("warmup-pools", 1),
            TimeSpan.FromSeconds(arguments.Number("timeout", 1_800)));
    }
}
