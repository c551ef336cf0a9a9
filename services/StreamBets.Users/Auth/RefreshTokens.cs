using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace StreamBets.Users.Auth;

/// <summary>
/// Refresh tokens are 256 random bits, shown once to the client and stored only as a SHA-256 hash.
/// A fast hash is enough: unlike a password, the token has full entropy and cannot be guessed.
/// </summary>
public static class RefreshTokens
{
    public static (string Token, byte[] Hash) Create()
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (token, Hash(token));
    }

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
