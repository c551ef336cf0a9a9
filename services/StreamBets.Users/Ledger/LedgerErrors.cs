namespace StreamBets.Users.Ledger;

/// <summary>
/// Stable reasons a transfer is refused. Clients switch on them: they are the suffix of the REST
/// problem type (https://streambets.dev/problems/{reason}) and the gRPC ErrorInfo reason.
/// </summary>
public static class LedgerErrors
{
    /// <summary>The request itself is malformed: bad id, unknown account, non-positive or oversized amount.</summary>
    public const string InvalidTransfer = "invalid-transfer";

    /// <summary>A query names no known account or carries a cursor or limit this service did not issue.</summary>
    public const string InvalidRequest = "invalid-request";

    /// <summary>An account that may not go negative would have.</summary>
    public const string InsufficientFunds = "insufficient-funds";

    /// <summary>The transfer id was already used for a different movement of money.</summary>
    public const string IdempotencyKeyReused = "idempotency-key-reused";

    /// <summary>A balance would leave the 64-bit range; no real amount gets here.</summary>
    public const string BalanceOverflow = "balance-overflow";

    public const string ProblemTypeBase = "https://streambets.dev/problems/";

    public static string ProblemType(string reason) => ProblemTypeBase + reason;
}
