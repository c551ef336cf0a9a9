using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using StreamBets.Web.Auth;

namespace StreamBets.Web.Gateway;

/// <summary>
/// Every REST call this app makes, through the gateway (found by service discovery as http://gateway), with the
/// player's access token when signed in. Refusals come back as <see cref="ApiProblem"/>s, never as exceptions.
/// </summary>
public sealed partial class GatewayClient(IHttpClientFactory http, PlayerSession session, ILogger<GatewayClient> logger)
{
    public const string HttpClientName = "gateway";
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // Accounts (anonymous)
    public Task<ApiResult<Profile>> RegisterAsync(RegistrationRequest request, CancellationToken ct = default) =>
        SendAsync<Profile>(HttpMethod.Post, "/api/users/register", request, anonymous: true, cancellationToken: ct);

    public Task<ApiResult<TokenResponse>> LoginAsync(string email, string password, CancellationToken ct = default) =>
        SendAsync<TokenResponse>(HttpMethod.Post, "/api/users/login", new { email, password }, anonymous: true, cancellationToken: ct);

    /// <summary>Ends the session in the Users service with the given token (the cookie's session may already be gone here).</summary>
    public Task<ApiResult<bool>> LogoutAsync(string accessToken, CancellationToken ct = default) =>
        SendAsync<bool>(HttpMethod.Post, "/api/users/logout", null, token: accessToken, cancellationToken: ct);

    // Profile, KYC, responsible gambling
    public Task<ApiResult<Profile>> ProfileAsync(CancellationToken ct = default) => GetAsync<Profile>("/api/users/me", ct);

    public Task<ApiResult<KycStatus>> KycAsync(CancellationToken ct = default) => GetAsync<KycStatus>("/api/users/me/kyc", ct);

    public Task<ApiResult<KycStatus>> SubmitDocumentAsync(string documentType, string documentNumber, CancellationToken ct = default) =>
        SendAsync<KycStatus>(HttpMethod.Post, "/api/users/me/kyc/document", new { documentType, documentNumber }, cancellationToken: ct);

    public Task<ApiResult<KycCheck>> StartIdentityCheckAsync(string firstName, string lastName, CancellationToken ct = default) =>
        SendAsync<KycCheck>(HttpMethod.Post, "/api/users/me/kyc/checks", new { firstName, lastName }, cancellationToken: ct);

    public Task<ApiResult<Limits>> LimitsAsync(CancellationToken ct = default) => GetAsync<Limits>("/api/users/me/limits", ct);

    public Task<ApiResult<Limits>> SetLimitsAsync(LimitsRequest request, CancellationToken ct = default) =>
        SendAsync<Limits>(HttpMethod.Put, "/api/users/me/limits", request, cancellationToken: ct);

    public Task<ApiResult<SelfExclusionStatus>> SelfExcludeAsync(string period, CancellationToken ct = default) =>
        SendAsync<SelfExclusionStatus>(HttpMethod.Post, "/api/users/me/self-exclusion", new { period }, cancellationToken: ct);

    // Wallet
    public Task<ApiResult<WalletBalance>> WalletAsync(CancellationToken ct = default) => GetAsync<WalletBalance>("/api/users/me/wallet", ct);

    public Task<ApiResult<WalletHistoryPage>> WalletHistoryAsync(string? cursor, int limit = 20, CancellationToken ct = default) =>
        GetAsync<WalletHistoryPage>($"/api/users/me/wallet/history?limit={limit}{Query("cursor", cursor)}", ct);

    public Task<ApiResult<SandboxDeposit>> SandboxDepositAsync(long amountMinor, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<SandboxDeposit>(HttpMethod.Post, "/api/users/me/wallet/sandbox-deposit", new { amountMinor }, idempotencyKey, cancellationToken: ct);

    // Pools
    public Task<ApiResult<LiveChannel[]>> LiveChannelsAsync(CancellationToken ct = default) => GetAsync<LiveChannel[]>("/api/pools/channels", ct);

    public Task<ApiResult<Pool[]>> LivePoolsAsync(string channel, CancellationToken ct = default) =>
        GetAsync<Pool[]>($"/api/pools/live{Query("channel", channel, first: true)}", ct);

    /// <summary>The channel's resolved and cancelled pools, most recently closed first, with whether each was paid out.</summary>
    public Task<ApiResult<Pool[]>> FinishedPoolsAsync(string channel, CancellationToken ct = default) =>
        GetAsync<Pool[]>($"/api/pools/finished{Query("channel", channel, first: true)}&limit=10", ct);

    public Task<ApiResult<Pool>> PoolAsync(Guid poolId, CancellationToken ct = default) => GetAsync<Pool>($"/api/pools/{poolId}", ct);

    public Task<ApiResult<PoolTemplate[]>> PoolTemplatesAsync(CancellationToken ct = default) => GetAsync<PoolTemplate[]>("/api/pools/templates", ct);

    public Task<ApiResult<Pool>> CreatePoolAsync(CreatePoolRequest request, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, "/api/pools", request, cancellationToken: ct);

    public Task<ApiResult<Pool>> LockPoolAsync(Guid poolId, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, $"/api/pools/{poolId}/lock", new { }, cancellationToken: ct);

    public Task<ApiResult<Pool>> ResolvePoolAsync(Guid poolId, IReadOnlyList<Guid> winningOutcomeIds, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, $"/api/pools/{poolId}/resolve", new { winningOutcomeIds }, cancellationToken: ct);

    public Task<ApiResult<Pool>> CancelPoolAsync(Guid poolId, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, $"/api/pools/{poolId}/cancel", new { }, cancellationToken: ct);

    public Task<ApiResult<Leaderboard>> LeaderboardAsync(string scope, string period, CancellationToken ct = default) =>
        GetAsync<Leaderboard>($"/api/pools/leaderboards?limit=20{Query("scope", scope)}{Query("period", period)}", ct);

    // Bets
    public Task<ApiResult<Bet>> PlaceBetAsync(Guid poolId, Guid outcomeId, long stakeMinor, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<Bet>(HttpMethod.Post, "/api/bets", new { poolId, outcomeId, stakeMinor }, idempotencyKey, cancellationToken: ct);

    public Task<ApiResult<Bet>> BetAsync(Guid betId, CancellationToken ct = default) => GetAsync<Bet>($"/api/bets/{betId}", ct);

    public Task<ApiResult<BetPage>> MyBetsAsync(string? status, string? cursor, int limit = 20, CancellationToken ct = default) =>
        GetAsync<BetPage>($"/api/bets/mine?limit={limit}{Query("status", status)}{Query("cursor", cursor)}", ct);

    private Task<ApiResult<T>> GetAsync<T>(string path, CancellationToken cancellationToken) =>
        SendAsync<T>(HttpMethod.Get, path, null, cancellationToken: cancellationToken);

    private static string Query(string name, string? value, bool first = false) =>
        value is null ? "" : $"{(first ? '?' : '&')}{name}={Uri.EscapeDataString(value)}";

    private async Task<ApiResult<T>> SendAsync<T>(
        HttpMethod method, string path, object? body, string? idempotencyKey = null, bool anonymous = false, string? token = null,
        CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = new HttpRequestMessage(method, path);
            var sessionToken = !anonymous && token is null;
            if (!anonymous)
            {
                token ??= await session.AccessTokenAsync(cancellationToken);
                if (token is null)
                {
                    return ApiResult<T>.Failure(ApiProblem.Of(StatusCodes.Status401Unauthorized, ApiProblem.SignedOut));
                }
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            if (idempotencyKey is not null)
            {
                request.Headers.Add(IdempotencyKeyHeader, idempotencyKey);
            }
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, body.GetType(), options: Json);
            }

            using var client = http.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var problem = await ApiProblem.ReadAsync(response, cancellationToken);
                LogRefused(logger, method.Method, path, problem.Status, problem.Code);
                if (sessionToken && response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    await session.TokenRefusedAsync(token!, cancellationToken);
                }
                return ApiResult<T>.Failure(problem);
            }
            if (typeof(T) == typeof(bool))
            {
                return ApiResult<T>.Success((T)(object)true, response.StatusCode);
            }
            var value = await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken);
            return ApiResult<T>.Success(value!, response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            LogUnavailable(logger, method.Method, path, e);
            return ApiResult<T>.Failure(ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, ApiProblem.Unavailable));
        }
    }

    [LoggerMessage(EventId = 1, EventName = "GatewayRefused", Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} {Code}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string code);

    [LoggerMessage(EventId = 2, EventName = "GatewayUnavailable", Level = LogLevel.Warning, Message = "{Method} {Path} got no answer")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, Exception exception);
}
