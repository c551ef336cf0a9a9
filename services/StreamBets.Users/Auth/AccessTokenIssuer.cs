using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StreamBets.Users.Accounts;
using Claims = Microsoft.Extensions.Hosting.AuthenticationDefaults.Claims;

namespace StreamBets.Users.Auth;

public sealed record AccessToken(string Token, DateTimeOffset ExpiresAt);

/// <summary>
/// Signs the short-lived access tokens that the gateway and every service validate with
/// <see cref="AuthenticationDefaults"/>: same issuer, audience and HMAC-SHA256 key.
/// </summary>
public sealed class AccessTokenIssuer(IConfiguration configuration, IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly SigningCredentials _credentials = new(AuthenticationDefaults.SigningKey(configuration), SecurityAlgorithms.HmacSha256);
    private readonly JsonWebTokenHandler _handler = new();

    public AccessToken Issue(UserAccount account, Guid sessionId)
    {
        var now = time.GetUtcNow();
        var expires = now + options.Value.AccessTokenLifetime;
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
}
