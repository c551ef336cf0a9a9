using System.Diagnostics.CodeAnalysis;

namespace StreamBets.Users.Ledger;

/// <summary>One movement inside a transfer: <paramref name="AmountMinor"/> leaves <paramref name="From"/> and reaches <paramref name="To"/>.</summary>
public sealed record TransferLeg(string From, string To, long AmountMinor)
{
    public static TransferLeg Between(LedgerAccountId from, LedgerAccountId to, long amountMinor) => new(from.Code, to.Code, amountMinor);
}

/// <summary>
/// What a caller asks for: move money along one or more legs, all or nothing.
/// <paramref name="TransferId"/> is the idempotency key; <paramref name="Reason"/> (e.g. "bet-stake",
/// "settlement", "sandbox-credit") travels with the transfer into history and WalletChanged.
/// </summary>
public sealed record TransferRequest(string TransferId, string Reason, IReadOnlyList<TransferLeg> Legs);

/// <summary>A transfer's net effect on one account; the amounts of a transfer's postings sum to zero.</summary>
public readonly record struct Posting(LedgerAccountId Account, long AmountMinor);

/// <summary>
/// A validated transfer reduced to its net postings, one per account, sorted by account code.
/// Two requests move the same money exactly when their reasons and postings are equal, which is
/// what an idempotent replay is checked against.
/// </summary>
public sealed class LedgerTransfer
{
    public const int MaxTransferIdLength = 128;
    public const int MaxReasonLength = 64;
    public const int MaxLegs = 256;

    /// <summary>
    /// 10^15 minor units (ten trillion in major units) per leg: far above any real movement, and low
    /// enough that <see cref="MaxLegs"/> legs can never overflow a 64-bit sum.
    /// </summary>
    public const long MaxLegAmountMinor = 1_000_000_000_000_000;

    private LedgerTransfer(string transferId, string reason, IReadOnlyList<Posting> postings)
    {
        TransferId = transferId;
        Reason = reason;
        Postings = postings;
    }

    public string TransferId { get; }
    public string Reason { get; }
    public IReadOnlyList<Posting> Postings { get; }

    public bool MovesSameMoneyAs(string reason, IReadOnlyList<Posting> postings) =>
        Reason == reason && Postings.SequenceEqual(postings);

    /// <summary>Validates a request; on failure <paramref name="error"/> says why in words a client can show.</summary>
    public static bool TryCreate(TransferRequest request, [NotNullWhen(true)] out LedgerTransfer? transfer, [NotNullWhen(false)] out string? error)
    {
        transfer = null;
        error = ValidateTransferId(request.TransferId) ?? ValidateReason(request.Reason);
        if (error is not null)
        {
            return false;
        }
        if (request.Legs is not { Count: > 0 and <= MaxLegs })
        {
            error = $"A transfer needs between 1 and {MaxLegs} legs.";
            return false;
        }

        var net = new Dictionary<LedgerAccountId, long>();
        for (var i = 0; i < request.Legs.Count; i++)
        {
            var leg = request.Legs[i];
            if (leg is null)
            {
                error = $"Leg {i} is missing.";
                return false;
            }
            if (!LedgerAccountId.TryParse(leg.From, out var from))
            {
                error = $"Leg {i}: '{leg.From}' is not a known account.";
                return false;
            }
            if (!LedgerAccountId.TryParse(leg.To, out var to))
            {
                error = $"Leg {i}: '{leg.To}' is not a known account.";
                return false;
            }
            if (from == to)
            {
                error = $"Leg {i} moves money from {from} to itself.";
                return false;
            }
            if (leg.AmountMinor is <= 0 or > MaxLegAmountMinor)
            {
                error = $"Leg {i}: the amount must be between 1 and {MaxLegAmountMinor} minor units.";
                return false;
            }
            net[from] = net.GetValueOrDefault(from) - leg.AmountMinor;
            net[to] = net.GetValueOrDefault(to) + leg.AmountMinor;
        }

        // Legs that cancel out leave no entry: an account's entries must sum to its balance, and a zero entry says nothing.
        var postings = net.Where(p => p.Value != 0)
            .Select(p => new Posting(p.Key, p.Value))
            .OrderBy(p => p.Account.Code, StringComparer.Ordinal)
            .ToArray();
        if (postings.Length == 0)
        {
            error = "The legs cancel out: the transfer would move no money.";
            return false;
        }

        transfer = new LedgerTransfer(request.TransferId, request.Reason, postings);
        return true;
    }

    /// <summary>Ids are the caller's idempotency keys: 1 to 128 visible ASCII characters, no spaces.</summary>
    public static string? ValidateTransferId(string? transferId)
    {
        if (string.IsNullOrEmpty(transferId) || transferId.Length > MaxTransferIdLength)
        {
            return $"The transfer id must have between 1 and {MaxTransferIdLength} characters.";
        }
        foreach (var c in transferId)
        {
            if (c is < '!' or > '~')
            {
                return "The transfer id may contain only visible ASCII characters.";
            }
        }
        return null;
    }

    /// <summary>Reasons are short kebab-case words such as "bet-stake", so history and events can be grouped by them.</summary>
    public static string? ValidateReason(string? reason)
    {
        if (string.IsNullOrEmpty(reason) || reason.Length > MaxReasonLength)
        {
            return $"The reason must have between 1 and {MaxReasonLength} characters.";
        }
        foreach (var c in reason)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return "The reason may contain only lowercase letters, digits and '-'.";
            }
        }
        return null;
    }
}
