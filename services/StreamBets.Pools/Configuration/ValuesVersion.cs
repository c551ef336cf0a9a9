using System.Security.Cryptography;
using StreamBets.Pools.Documents;

namespace StreamBets.Pools.Configuration;

/// <summary>
/// The <c>version</c> admins read with the configuration or a template and send back with their change: a digest of the
/// values, so it changes whenever they do and is the same again if they are changed back (nothing is lost then).
/// </summary>
public static class ValuesVersion
{
    public static string Of<T>(T values) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(values, DocumentStore.Json)))[..20];
}
