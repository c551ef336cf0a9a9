using System.Security.Cryptography;
using System.Text.Json;

namespace StreamBets.Pools.Management;

/// <summary>
/// A create request's Idempotency-Key with a hash of what the request asked for: the key names the request, the hash
/// tells a retry (answered with the pool the first copy opened) from another request sent under the same key (refused).
/// </summary>
public sealed record PoolCreationKey(string Key, byte[] RequestHash)
{
    /// <summary>Hashes the request as the caller sent it, before a template or the configuration fills it in.</summary>
    public static PoolCreationKey For(string key, CreatePool request) =>
        new(key, SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request)));

    public bool AskedFor(byte[] requestHash) => RequestHash.AsSpan().SequenceEqual(requestHash);
}

/// <summary>The pool a create answers; <paramref name="Replayed"/> when an earlier copy of the request opened it.</summary>
public sealed record CreatedPool(StoredPool Pool, bool Replayed);
