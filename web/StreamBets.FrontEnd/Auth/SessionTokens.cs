using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.JsonWebTokens;
using StackExchange.Redis;
using StreamBets.FrontEnd.Gateway;

namespace StreamBets.FrontEnd.Auth;

/// <summary>A signed-in user's Users tokens, kept on the server only; the browser holds just the cookie naming the session.</summary>
public sealed record StoredTokens(
    string AccessToken, DateTimeOffset AccessExpiresAt, string RefreshToken, DateTimeOffset RefreshExpiresAt, Guid UserId, string DisplayName, string Role)
{
    public static StoredTokens From(TokenResponse tokens)
    {
        // Straight from the Users service over the back channel; every service validates it again on use.
        var jwt = new JsonWebToken(tokens.AccessToken);
        var name = jwt.TryGetPayloadValue<string>("name", out var n) ? n : "";
        return new StoredTokens(tokens.AccessToken, tokens.ExpiresAt, tokens.RefreshToken, tokens.RefreshTokenExpiresAt, tokens.UserId, name, tokens.Role);
    }

    /// <summary>The Users session id (<c>sid</c>): one login, kept across refreshes, so it names the stored tokens.</summary>
    public static string SessionIdOf(string accessToken) =>
        new JsonWebToken(accessToken).TryGetPayloadValue<string>("sid", out var sid) ? sid : throw new InvalidOperationException("The access token has no sid.");
}

/// <summary>
/// Keeps each session's tokens in Redis (data-protected) and hands out a valid access token, refreshing it shortly
/// before it expires. Refresh tokens are single-use (a reused one revokes the whole session), so only one refresh per
/// session runs at a time and the others read its result; every circuit and request of a session shares the store.
/// </summary>
public sealed partial class SessionTokens(
    FrontEndApp app, IConnectionMultiplexer redis, IDataProtectionProvider dataProtection, IHttpClientFactory http, TimeProvider time, ILogger<SessionTokens> logger)
{
    /// <summary>Refresh this long before expiry, so a token never dies on its way through the gateway.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromSeconds(60);

    /// <summary>Allowance for the trip to a service and clocks a little apart: a token this close to expiry counts as expired.</summary>
    public static readonly TimeSpan ExpirySkew = TimeSpan.FromSeconds(5);

    private readonly IDataProtector _protector = dataProtection.CreateProtector(app.TokensPurpose);
    // One gate per session only while a refresh of it holds or waits: sessions come and go for the life of the process.
    private readonly Dictionary<string, RefreshGate> _refreshGates = [];

    private RedisKey Key(string sessionId) => $"{app.Name}:tokens:{sessionId}";

    public async Task SaveAsync(string sessionId, StoredTokens tokens)
    {
        var ttl = tokens.RefreshExpiresAt - time.GetUtcNow();
        var value = _protector.Protect(JsonSerializer.SerializeToUtf8Bytes(tokens));
        await redis.GetDatabase().StringSetAsync(Key(sessionId), value, ttl > TimeSpan.Zero ? ttl : TimeSpan.FromSeconds(1));
    }

    public async Task<StoredTokens?> GetAsync(string sessionId)
    {
        var value = (byte[]?)await redis.GetDatabase().StringGetAsync(Key(sessionId));
        if (value is null)
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<StoredTokens>(_protector.Unprotect(value));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // Keys rotated away or a foreign value: treat as signed out.
            return null;
        }
    }

    public Task RemoveAsync(string sessionId) => redis.GetDatabase().KeyDeleteAsync(Key(sessionId));

    /// <summary>
    /// Whether the access token has expired, or will within <see cref="ExpirySkew"/>. <see cref="GetFreshAsync"/> hands
    /// back such a token only when Users could not refresh it (no answer, a 429, a 5xx).
    /// </summary>
    public bool HasExpired(StoredTokens tokens) => tokens.AccessExpiresAt - time.GetUtcNow() <= ExpirySkew;

    /// <summary>A usable access token for the session, refreshed if needed; null when the session has ended.</summary>
    public Task<StoredTokens?> GetFreshAsync(string sessionId, CancellationToken cancellationToken) =>
        RefreshIfAsync(sessionId, NeedsRefresh, cancellationToken);

    /// <summary>
    /// The gateway refused <paramref name="refusedAccessToken"/> before its expiry (the session was revoked elsewhere, say a
    /// reused refresh token): refresh now, unless another call already did; null when the session has ended.
    /// </summary>
    public Task<StoredTokens?> RefreshRefusedAsync(string sessionId, string refusedAccessToken, CancellationToken cancellationToken) =>
        RefreshIfAsync(sessionId, tokens => tokens.AccessToken == refusedAccessToken, cancellationToken);

    private async Task<StoredTokens?> RefreshIfAsync(string sessionId, Func<StoredTokens, bool> needsRefresh, CancellationToken cancellationToken)
    {
        var tokens = await GetAsync(sessionId);
        if (tokens is null || !needsRefresh(tokens))
        {
            return tokens;
        }

        var gate = EnterGate(sessionId);
        try
        {
            await gate.Turn.WaitAsync(cancellationToken);
            try
            {
                // Another circuit or request of this session may have refreshed while we waited.
                tokens = await GetAsync(sessionId);
                if (tokens is null || !needsRefresh(tokens))
                {
                    return tokens;
                }
                return await RefreshAsync(sessionId, tokens);
            }
            finally
            {
                gate.Turn.Release();
            }
        }
        finally
        {
            LeaveGate(sessionId, gate);
        }
    }

    /// <summary>A session's refreshes take turns at its gate; <see cref="Users"/> counts those holding or waiting for a turn.</summary>
    private sealed class RefreshGate
    {
        public SemaphoreSlim Turn { get; } = new(1, 1);
        public int Users { get; set; }
    }

    private RefreshGate EnterGate(string sessionId)
    {
        lock (_refreshGates)
        {
            if (!_refreshGates.TryGetValue(sessionId, out var gate))
            {
                _refreshGates[sessionId] = gate = new RefreshGate();
            }
            gate.Users++;
            return gate;
        }
    }

    /// <summary>
    /// Removed with its last user, under the same lock that hands it out: a refresh arriving later gets a new gate only
    /// when no one holds or waits on the old one, so two refreshes of one session never run at once.
    /// </summary>
    private void LeaveGate(string sessionId, RefreshGate gate)
    {
        lock (_refreshGates)
        {
            if (--gate.Users == 0)
            {
                _refreshGates.Remove(sessionId);
            }
        }
    }

    /// <summary>
    /// Within <see cref="RefreshMargin"/> of expiry, unless a refresh could not give a later one: Users caps both tokens at
    /// the session's end, so an access token that lives as long as its refresh token already ends with the session, and
    /// refreshing it on every call of that last minute would only rotate the refresh token (a Users transaction each).
    /// Once it has expired the session is over, and the refresh tells (Users refuses it).
    /// </summary>
    private bool NeedsRefresh(StoredTokens tokens)
    {
        var now = time.GetUtcNow();
        return tokens.AccessExpiresAt - now < RefreshMargin && (tokens.AccessExpiresAt < tokens.RefreshExpiresAt || tokens.AccessExpiresAt <= now);
    }

    /// <summary>
    /// Refreshes the session's tokens; null when Users ended the session. A refresh left unanswered may still have
    /// rotated the token: Users takes the same token again for 30 s (docs/users.md), so it is sent once more a second
    /// later rather than at the next call, which may come after those 30 s and would then end the session.
    /// </summary>
    /// <remarks>
    /// Not cancelled with its caller: a page left while Users rotates the token must still save the answer (or retry),
    /// or the token kept would be presented again later than Users takes it, and end the session.
    /// </remarks>
    private async Task<StoredTokens?> RefreshAsync(string sessionId, StoredTokens tokens)
    {
        if (await TryRefreshAsync(sessionId, tokens, CancellationToken.None) is (var refreshed, Answered: true))
        {
            return refreshed;
        }
        await Task.Delay(RefreshRetryAfter, time);
        // A passing outage must not sign the user out: keep the old token and try again on the next call. The old token
        // may still have seconds to live (refreshes start a minute early); one that has expired, UserSession never hands out.
        return await TryRefreshAsync(sessionId, tokens, CancellationToken.None) is (var again, Answered: true) ? again : tokens;
    }

    private static readonly TimeSpan RefreshRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>One refresh: the new tokens, or null when the session is over; not answered when Users could not be heard.</summary>
    private async Task<(StoredTokens? Tokens, bool Answered)> TryRefreshAsync(string sessionId, StoredTokens tokens, CancellationToken cancellationToken)
    {
        try
        {
            using var client = http.CreateClient(GatewayClientBase.HttpClientName);
            using var response = await client.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken = tokens.RefreshToken }, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var refreshed = StoredTokens.From((await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken))!);
                await SaveAsync(sessionId, refreshed);
                return (refreshed, true);
            }
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                // Reused, expired, revoked or past the session time limit: the session is over.
                LogSessionEnded(logger, (int)response.StatusCode);
                await RemoveAsync(sessionId);
                return (null, true);
            }
            LogRefreshFailed(logger, (int)response.StatusCode, null);
        }
        catch (Exception e) when (GatewayClientBase.IsNoAnswer(e) && !cancellationToken.IsCancellationRequested)
        {
            LogRefreshFailed(logger, 0, e);
        }
        return (null, false);
    }

    [LoggerMessage(EventId = 1, EventName = "SessionEnded", Level = LogLevel.Information, Message = "A session ended at refresh (HTTP {Status})")]
    private static partial void LogSessionEnded(ILogger logger, int status);

    [LoggerMessage(EventId = 2, EventName = "TokenRefreshFailed", Level = LogLevel.Warning, Message = "Refreshing a session's token failed (HTTP {Status}); the old token is kept")]
    private static partial void LogRefreshFailed(ILogger logger, int status, Exception? exception);
}
