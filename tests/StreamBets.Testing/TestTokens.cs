using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StreamBets.Testing;

/// <summary>
/// An access-token key pair as the AppHost makes one: every service under test gets <see cref="PublicKeySetting"/>, the
/// Users service <see cref="PrivateKeySetting"/> too, and tests mint the tokens Users would issue with <see cref="Token"/>.
/// </summary>
public sealed class TestTokens
{
    /// <summary>One pair for the whole test run: making an RSA key takes tens of milliseconds.</summary>
    public static TestTokens Shared { get; } = New();

    private readonly SigningCredentials _credentials;

    /// <param name="privateKey">Base64 DER PKCS#8, the form of <c>Auth:SigningKey</c>.</param>
    public TestTokens(string privateKey)
    {
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(Convert.FromBase64String(privateKey), out _);
        PrivateKey = privateKey;
        PublicKey = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
        _credentials = new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256);
    }

    /// <summary>A pair of its own: its tokens are forgeries to services that were given another.</summary>
    public static TestTokens New()
    {
        using var rsa = RSA.Create(2048);
        return new TestTokens(Convert.ToBase64String(rsa.ExportPkcs8PrivateKey()));
    }

    public string PrivateKey { get; }

    public string PublicKey { get; }

    public KeyValuePair<string, string?> PublicKeySetting => new("Auth:PublicKey", PublicKey);

    public KeyValuePair<string, string?> PrivateKeySetting => new("Auth:SigningKey", PrivateKey);

    /// <summary>
    /// A JWT as the Users service issues them. It is valid from an hour before now (a test may move a service's clock)
    /// until <paramref name="expires"/>, 60 days away by default.
    /// </summary>
    /// <param name="sessionId">The login session (<c>sid</c> claim); none when null.</param>
    public string Token(Guid userId, string role, string? displayName = null, Guid? sessionId = null, DateTime? expires = null)
    {
        var expiry = expires ?? DateTime.UtcNow.AddDays(60);
        var validFrom = new[] { DateTime.UtcNow.AddHours(-1), expiry.AddMinutes(-30) }.Min();
        var claims = new Dictionary<string, object> { ["sub"] = userId.ToString(), ["role"] = role };
        if (displayName is not null)
        {
            claims["name"] = displayName;
        }
        if (sessionId is { } sid)
        {
            claims["sid"] = sid.ToString();
        }
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "streambets-users",
            Audience = "streambets",
            Claims = claims,
            IssuedAt = validFrom,
            NotBefore = validFrom,
            Expires = expiry,
            SigningCredentials = _credentials,
        });
    }
}
