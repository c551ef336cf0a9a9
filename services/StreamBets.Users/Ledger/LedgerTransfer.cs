using System.Diagnostics.CodeAnalysis;

namespace StreamBets.Users.Ledger;

/// <summary>One movement inside a transfer: <paramref name="AmountMinor"/> leaves <paramref name="From"/> and reaches <paramref name="To"/>.</summary>
public sealed record TransferLeg(string From, string To, long AmountMinor)
{
    public static TransferLeg Between(LedgerAccountId from, LedgerAccountId to, long amountMinor) => new(from.Code, to.Code, amountMinor);
}

/// <summary>
/// What a caller asks for: move money along one or more legs, all or nothing.
/// <paramref name="TransferId"/> is a UUID and the idempotency key. <paramref name="Reason"/> (e.g. "bet-stake",
/// "settlement", "sandbox-credit") and the optional <paramref name="Reference"/> (e.g. the bet or pool id)
/// travel with the transfer into history and WalletsChanged.
/// </summary>
public sealed record TransferRequest(string TransferId, string Reason, IReadOnlyList<TransferLeg> Legs, string? Reference = null);

/// <summary>A transfer's net effect on one account; the amounts of a transfer's postings sum to zero.</summary>
public readonly record struct Posting(LedgerAccountId Account, long AmountMinor);

/// <summary>
/// A validated transfer reduced to its net postings, one per account, sorted by account code.
/// A replay is the same request exactly when reason, reference and postings are equal.
/// </summary>
public sealed class LedgerTransfer
{
    public const int MaxReasonLength = 64;
    public const int MaxReferenceLength = 128;
    public const int MaxLegs = StreamBets.Contracts.Wallet.LedgerLimits.MaxLegs;

    /// <inheritdoc cref="StreamBets.Contracts.Wallet.LedgerLimits.MaxLegAmountMinor"/>
    public const long MaxLegAmountMinor = StreamBets.Contracts.Wallet.LedgerLimits.MaxLegAmountMinor;

    private LedgerTransfer(Guid transferId, string reason, string? reference, IReadOnlyList<Posting> postings)
    {
        TransferId = transferId;
        Reason = reason;
        Reference = reference;
        Postings = postings;
    }

    public Guid TransferId { get; }
    public string Reason { get; }
    public string? Reference { get; }
    public IReadOnlyList<Posting> Postings { get; }

    public bool IsSameRequestAs(LedgerTransfer other) => IsSameRequestAs(other.Reason, other.Reference, other.Postings);

    public bool IsSameRequestAs(CommittedTransfer stored) =>
        IsSameRequestAs(stored.Reason, stored.Reference, [.. stored.Postings.Select(p => new Posting(p.Account, p.AmountMinor))]);

    private bool IsSameRequestAs(string reason, string? reference, IReadOnlyList<Posting> postings) =>
        Reason == reason && Reference == reference && Postings.SequenceEqual(postings);

    /// <summary>Validates a request; on failure <paramref name="error"/> says why in words a client can show.</summary>
    public static bool TryCreate(TransferRequest request, [NotNullWhen(true)] out LedgerTransfer? transfer, [NotNullWhen(false)] out string? error)
    {
        transfer = null;
        if (!TryParseTransferId(request.TransferId, out var transferId))
        {
            error = "The transfer id must be a UUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301.";
            return false;
        }
        error = ValidateReason(request.Reason) ?? ValidateReference(request.Reference);
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
            if (!LedgerAccountId.TryParse(leg?.From, out var from) || !LedgerAccountId.TryParse(leg.To, out var to))
            {
                error = $"Leg {i} names an unknown account: accounts are user:{{uuid}}, escrow:pool:{{uuid}}, house:rake, house:breakage or psp:clearing.";
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

        transfer = new LedgerTransfer(transferId, request.Reason, string.IsNullOrEmpty(request.Reference) ? null : request.Reference, postings);
        return true;
    }

    public static bool TryParseTransferId(string? text, out Guid transferId) =>
        Guid.TryParse(text, out transferId) && transferId != Guid.Empty;

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

    /// <summary>A reference names what the money belongs to ("bet:{id}", a pool id): one line, and never a NUL, which
    /// PostgreSQL cannot store and which would fail the whole batch's insert rather than this transfer alone.</summary>
    private static string? ValidateReference(string? reference) =>
        reference is { Length: > MaxReferenceLength } ? $"The reference may have at most {MaxReferenceLength} characters."
        : reference is not null && reference.Any(char.IsControl) ? "The reference may not contain control characters."
        : null;
}
