namespace StreamBets.Contracts.Wallet;

/// <summary>What the Users ledger accepts in one transfer, for the services that build transfers (Settlement).</summary>
public static class LedgerLimits
{
    /// <summary>
    /// 10^15 minor units (ten trillion in major units) per leg: far above any real movement, and low enough that
    /// <see cref="MaxLegs"/> legs can never overflow a 64-bit sum.
    /// </summary>
    public const long MaxLegAmountMinor = 1_000_000_000_000_000;

    public const int MaxLegs = 256;
}
