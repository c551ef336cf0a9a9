using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Every service validates the same JWTs that the Users service issues, so a service trusts
/// only claims whose signature it has checked itself, even behind the gateway.
/// </summary>
public static class AuthenticationDefaults
{
    public const string Issuer = "streambets-users";
    public const string Audience = "streambets";

    public static class Roles
    {
        public const string Player = "player";
        public const string Streamer = "streamer";
        public const string Admin = "admin";
    }

    /// <summary>The claims the Users service puts in every access token.</summary>
    public static class Claims
    {
        public const string UserId = "sub";
        public const string Role = "role";
        public const string DisplayName = "name";
        public const string SessionId = "sid";
        public const string TokenId = "jti";
    }

    public static class Policies
    {
        public const string Admin = "admin";
        public const string Streamer = "streamer";
    }

    /// <summary>
    /// The public half of the Users service's RSA token key, from <c>Auth:PublicKey</c> (base64 of the DER
    /// SubjectPublicKeyInfo): a service can check an access token's signature but never make one (docs/users.md).
    /// </summary>
    public static RsaSecurityKey TokenValidationKey(IConfiguration configuration) => new(ReadRsaKey(
        configuration, "Auth:PublicKey", (rsa, der) => rsa.ImportSubjectPublicKeyInfo(der, out _),
        "the base64 DER public key (SubjectPublicKeyInfo) of the Users service's RSA token key; the AppHost passes it to every service"));

    /// <summary>An RSA key of at least <see cref="MinimumKeySize"/> bits from a base64 DER setting, or a start-up error naming the setting.</summary>
    public static RSA ReadRsaKey(IConfiguration configuration, string setting, Action<RSA, byte[]> import, string expected)
    {
        var rsa = RSA.Create();
        try
        {
            import(rsa, Convert.FromBase64String(configuration[setting] ?? ""));
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            rsa.Dispose();
            throw new InvalidOperationException($"{setting} must be {expected}.", e);
        }
        if (rsa.KeySize < MinimumKeySize)
        {
            rsa.Dispose();
            throw new InvalidOperationException($"{setting} is a {rsa.KeySize}-bit RSA key; access tokens need at least {MinimumKeySize} bits.");
        }
        return rsa;
    }

    public const int MinimumKeySize = 2048;

    /// <summary>The validated <c>sub</c> claim: the only user id a service may trust.</summary>
    public static Guid GetUserId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(Claims.UserId)?.Value, out var id)
            ? id
            : throw new InvalidOperationException("The principal has no user id; is the endpoint missing RequireAuthorization()?");

    /// <summary>The validated <c>sid</c> claim: the login session the token belongs to.</summary>
    public static Guid? GetSessionId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(Claims.SessionId)?.Value, out var id) ? id : null;

    public static TBuilder AddDefaultAuthentication<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var configuration = builder.Configuration;
        builder.Services.AddSingleton<SessionRevocation>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SessionRevocation>());
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(options =>
            {
                options.MapInboundClaims = false;
                options.TokenHandlers.Clear();
                options.TokenHandlers.Add(new SignatureCheckedOnce());
                options.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = Issuer,
                    ValidAudience = Audience,
                    IssuerSigningKey = TokenValidationKey(configuration),
                    // Only what Users signs with: no "none", and no HMAC keyed with the public key's bytes.
                    ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
                    NameClaimType = Claims.UserId,
                    RoleClaimType = Claims.Role,
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
                // SignalR sends the token in the query string on WebSocket upgrades.
                options.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        var token = context.Request.Query["access_token"];
                        if (!string.IsNullOrEmpty(token) && context.HttpContext.Request.Path.StartsWithSegments("/hubs"))
                        {
                            context.Token = token;
                        }
                        return Task.CompletedTask;
                    },
                    // Logout and refresh-token reuse revoke a session before its access tokens expire.
                    OnTokenValidated = SessionRevocation.RejectRevokedSessionAsync,
                };
            });

        // Token lifetimes are judged by the injected clock, like every other time rule (tests use a fake one).
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<TimeProvider>((options, time) => options.TokenValidationParameters.LifetimeValidator =
                (notBefore, expires, _, parameters) =>
                {
                    var now = time.GetUtcNow().UtcDateTime;
                    return expires is { } exp && exp > now - parameters.ClockSkew
                        && (notBefore is not { } nbf || nbf <= now + parameters.ClockSkew);
                })
            // A missing or malformed Auth:PublicKey stops the service at start, not at its first signed-in request.
            .ValidateOnStart();

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Admin, policy => policy.RequireRole(Roles.Admin))
            .AddPolicy(Policies.Streamer, policy => policy.RequireRole(Roles.Streamer, Roles.Admin));
        return builder;
    }
}
