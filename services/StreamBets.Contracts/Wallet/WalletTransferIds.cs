using System.Security.Cryptography;
using System.Text;

namespace StreamBets.Contracts.Wallet;

/// <summary>
/// Ledger transfer ids are UUIDs and double as idempotency keys. A caller derives them from its own
/// stable names, so a retry after a crash carries the same id without having stored it first:
/// <c>WalletTransferIds.FromName($"bet:{betId}:stake")</c>.
/// </summary>
public static class WalletTransferIds
{
    /// <summary>The namespace of StreamBets wallet transfer names (RFC 9562 name-based UUIDs).</summary>
    public static readonly Guid Namespace = new("5b0e8c1a-63f4-4d55-9f0e-2a7c1d9e4b30");

    /// <summary>The RFC 9562 version-5 (SHA-1, name-based) UUID of <paramref name="name"/>: the same name always gives the same id.</summary>
    public static Guid FromName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        Namespace.TryWriteBytes(input, bigEndian: true, out _);
        nameBytes.CopyTo(input, 16);

        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(hash[..16], bigEndian: true);
    }
}
