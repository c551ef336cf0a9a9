using System.Globalization;

namespace StreamBets.Settlement.Benchmarks;

/// <param name="Bets">Bets in the pool, one per player.</param>
/// <param name="Outcomes">Outcomes of the pool; the first wins, so about 1/Outcomes of the bets are paid.</param>
/// <param name="BetsPerChunk">Settlement:BetsPerChunk (bets per Bet Engine / Pools chunk).</param>
/// <param name="BetsPerPayment">Settlement:BetsPerPayment (bets per TransferBatch and settlementdb transaction).</param>
/// <param name="PaymentConcurrency">Settlement:PaymentConcurrency.</param>
public sealed record SettlementBenchmarkOptions(int Bets, int Outcomes, int BetsPerChunk, int BetsPerPayment, int PaymentConcurrency, TimeSpan Timeout)
{
    public static SettlementBenchmarkOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected --name value pairs, got '{args[i]}'.");
            }
            values[args[i][2..]] = args[i + 1];
        }

        int Number(string name, int fallback) =>
            values.TryGetValue(name, out var text) ? int.Parse(text.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) : fallback;

        return new SettlementBenchmarkOptions(
            Number("bets", 100_000),
            Number("outcomes", 2),
            Number("chunk", 10_000),
            Number("payment", 5_000),
            Number("payment-concurrency", 2),
            TimeSpan.FromSeconds(Number("timeout", 1_800)));
    }
}
