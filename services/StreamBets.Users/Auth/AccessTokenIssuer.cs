using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StreamBets.Users.Accounts;
using Claims = Microsoft.Extensions.Hosting.AuthenticationDefaults.Claims;

namespace StreamBets.Users.Auth;

public sealed record AccessToken(string Token, DateTimeOffset ExpiresAt);

/// <summary>
/// Signs the short-lived access tokens that the gateway and every service validate with
/// <see cref="AuthenticationDefaults"/>: same issuer and audience, RS256. Only Users holds the private key
/// (<c>Auth:SigningKey</c>), so no other service, compromised or not, can mint a token.
/// </summary>
public sealed class AccessTokenIssuer(IConfiguration configuration, IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly SigningCredentials _credentials = new(SigningKey(configuration), SecurityAlgorithms.RsaSha256);
    private readonly JsonWebTokenHandler _handler = new();

    /// <summary>A token for the session, never valid past <paramref name="sessionExpiresAt"/>: a session's end ends its tokens too.</summary>
    public AccessToken Issue(UserAccount account, Guid sessionId, DateTimeOffset sessionExpiresAt)
    {
        var now = time.GetUtcNow();
        var lifetimeEnd = now + options.Value.AccessTokenLifetime;
        var expires = sessionExpiresAt < lifetimeEnd ? sessionExpiresAt : lifetimeEnd;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthenticationDefaults.Issuer,
            Audience = AuthenticationDefaults.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = _credentials,
            Claims = new Dictionary<string, object>
            {
                [Claims.UserId] = account.Id.ToString(),
                [Claims.Role] = account.Role,
                [Claims.DisplayName] = account.DisplayName,
                [Claims.SessionId] = sessionId.ToString(),
                [Claims.TokenId] = Guid.NewGuid().ToString("N"),
            },
        });
        return new AccessToken(token, expires);
    }

    /// <summary>
    /// The private key, base64 DER PKCS#8, checked against <c>Auth:PublicKey</c>: a mismatched pair would only show as
    /// every token being refused everywhere.
    /// </summary>
    private static RsaSecurityKey SigningKey(IConfiguration configuration)
    {
        var rsa = AuthenticationDefaults.ReadRsaKey(configuration, "Auth:SigningKey", (rsa, der) => rsa.ImportPkcs8PrivateKey(der, out _),
            "the base64 DER private key (PKCS#8) of an RSA key; the AppHost generates one for Users (docs/users.md)");
        using var published = AuthenticationDefaults.TokenValidationKey(configuration).Rsa;
        if (!rsa.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(published.ExportSubjectPublicKeyInfo()))
        {
            rsa.Dispose();
            throw new InvalidOperationException("Auth:SigningKey and Auth:PublicKey are not one key pair: every token Users signs would be refused.");
        }
        return new RsaSecurityKey(rsa);
    }
}
