using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StreamBets.Admin.Tests;

/// <summary>Users' answer to a refresh, as the console's session reads it.</summary>
internal static class RefreshAnswers
{
    /// <summary>A fresh access token (15 min) and refresh token for the same admin.</summary>
    public static object ForAdmin()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddMinutes(15);
        return new
        {
            accessToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor { Claims = new Dictionary<string, object> { ["name"] = "Local admin" }, Expires = expiresAt.UtcDateTime }),
            tokenType = "Bearer",
            expiresIn = 900,
            expiresAt,
            refreshToken = "refresh-refreshed",
            refreshTokenExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
            userId = Guid.NewGuid(),
            role = "admin",
        };
    }
}
