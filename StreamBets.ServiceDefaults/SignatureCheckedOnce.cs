using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Checks an access token's RS256 signature once per token, not once per request: a player's token serves every
/// request for its 15 minutes, and the RSA check was a third of the gateway's CPU per bet (docs/benchmarks.md, session
/// 35). Only the signature is remembered, for that exact token text: lifetime, issuer, audience, algorithm of any new
/// text, and the revoked-session check that follows are judged on every request as before.
/// </summary>
internal sealed class SignatureCheckedOnce : JsonWebTokenHandler
{
    /// <summary>Enough for every player active in a token's lifetime on one replica; past it, tokens are checked each time.</summary>
    private const int MaxRemembered = 50_000;

    private readonly MemoryCache _verified = new(new MemoryCacheOptions { SizeLimit = MaxRemembered });

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (_verified.TryGetValue(token, out _))
        {
            return await base.ValidateTokenAsync(token, SkippingSignature(validationParameters));
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken checkedToken)
        {
            _verified.Set(token, true, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpiration = checkedToken.ValidTo });
        }
        return result;
    }

    /// <summary>
    /// The same rules, but the token is taken as signed: only texts whose signature was checked get here. A copy per
    /// request (a few hundred nanoseconds): the parameters given may be shared, and must keep checking signatures.
    /// </summary>
    private static TokenValidationParameters SkippingSignature(TokenValidationParameters parameters)
    {
        var skipping = parameters.Clone();
        skipping.SignatureValidator = (token, _) => new JsonWebToken(token);
        return skipping;
    }
}
