using System.Diagnostics.CodeAnalysis;

namespace StreamBets.Users.Ledger;

public enum LedgerAccountKind
{
    User,
    PoolEscrow,
    HouseRake,
    HouseBreakage,
    PspClearing,
}

/// <summary>
/// Names one ledger account. Its text form (<see cref="Code"/>) is what callers send and what the
/// database stores: <c>user:{userId}</c>, <c>escrow:pool:{poolId}</c>, <c>house:rake</c>,
/// <c>house:breakage</c> or <c>psp:clearing</c>, with ids as lowercase hyphenated GUIDs.
/// </summary>
public readonly record struct LedgerAccountId
{
    private const string UserPrefix = "user:";
    internal const string PoolEscrowPrefix = "escrow:pool:";

    public static readonly LedgerAccountId HouseRake = new(LedgerAccountKind.HouseRake, null, "house:rake");
    public static readonly LedgerAccountId HouseBreakage = new(LedgerAccountKind.HouseBreakage, null, "house:breakage");
    public static readonly LedgerAccountId PspClearing = new(LedgerAccountKind.PspClearing, null, "psp:clearing");

    private LedgerAccountId(LedgerAccountKind kind, Guid? owner, string code)
    {
        Kind = kind;
        Owner = owner;
        Code = code;
    }

    public LedgerAccountKind Kind { get; }

    /// <summary>The user id of a wallet or the pool id of an escrow; null for house and PSP accounts.</summary>
    public Guid? Owner { get; }

    public string Code { get; }

    /// <summary>
    /// Only PSP clearing may run negative: it mirrors money held at the payment provider, so it goes
    /// below zero by exactly what users hold. The database enforces the same rule with a CHECK constraint.
    /// </summary>
    public bool MayGoNegative => Kind == LedgerAccountKind.PspClearing;

    /// <summary>The account kind as the database spells it (ledger_accounts.kind).</summary>
    public string StoredKind => Kind switch
    {
        LedgerAccountKind.User => "user",
        LedgerAccountKind.PoolEscrow => "pool_escrow",
        LedgerAccountKind.HouseRake => "house_rake",
        LedgerAccountKind.HouseBreakage => "house_breakage",
        LedgerAccountKind.PspClearing => "psp_clearing",
        _ => throw new InvalidOperationException($"Unknown account kind {Kind}."),
    };

    public static LedgerAccountId ForUser(Guid userId) => userId == Guid.Empty
        ? throw new ArgumentException("A user id cannot be empty.", nameof(userId))
        : new(LedgerAccountKind.User, userId, UserPrefix + userId.ToString("D"));

    public static LedgerAccountId ForPoolEscrow(Guid poolId) => poolId == Guid.Empty
        ? throw new ArgumentException("A pool id cannot be empty.", nameof(poolId))
        : new(LedgerAccountKind.PoolEscrow, poolId, PoolEscrowPrefix + poolId.ToString("D"));

    /// <summary>Parses an account code; GUIDs in any case are accepted and normalised to lowercase.</summary>
    public static bool TryParse([NotNullWhen(true)] string? code, out LedgerAccountId account)
    {
        account = default;
        if (string.IsNullOrEmpty(code))
        {
            return false;
        }

        if (code.StartsWith(UserPrefix, StringComparison.Ordinal))
        {
            if (!TryParseOwner(code.AsSpan(UserPrefix.Length), out var userId))
            {
                return false;
            }
            account = ForUser(userId);
            return true;
        }

        if (code.StartsWith(PoolEscrowPrefix, StringComparison.Ordinal))
        {
            if (!TryParseOwner(code.AsSpan(PoolEscrowPrefix.Length), out var poolId))
            {
                return false;
            }
            account = ForPoolEscrow(poolId);
            return true;
        }

        foreach (var fixedAccount in (ReadOnlySpan<LedgerAccountId>)[HouseRake, HouseBreakage, PspClearing])
        {
            if (code == fixedAccount.Code)
            {
                account = fixedAccount;
                return true;
            }
        }
        return false;
    }

    public static LedgerAccountId Parse(string code) =>
        TryParse(code, out var account) ? account : throw new FormatException($"'{code}' is not a ledger account.");

    public override string ToString() => Code;

    private static bool TryParseOwner(ReadOnlySpan<char> text, out Guid id) =>
        Guid.TryParseExact(text, "D", out id) && id != Guid.Empty;
}
