using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;

namespace StreamBets.Web.Gateway;

/// <summary>Every REST call the player app makes through the gateway, with the player's access token when signed in.</summary>
public sealed class GatewayClient(IHttpClientFactory http, UserSession session, ILogger<GatewayClient> logger) : GatewayClientBase(http, session, logger)
{
    // Accounts (anonymous)
    public Task<ApiResult<Profile>> RegisterAsync(RegistrationRequest request, CancellationToken ct = default) =>
        SendAsync<Profile>(HttpMethod.Post, "/api/users/register", request, anonymous: true, cancellationToken: ct);

    // Profile, password, KYC, responsible gambling
    public Task<ApiResult<Profile>> ProfileAsync(CancellationToken ct = default) => GetAsync<Profile>("/api/users/me", ct);

    /// <summary>Changes the signed-in player's password; the player's other sessions end, this one stays signed in.</summary>
    public Task<ApiResult<PasswordChange>> ChangePasswordAsync(string currentPassword, string newPassword, CancellationToken ct = default) =>
        SendAsync<PasswordChange>(HttpMethod.Post, "/api/users/me/password", new { currentPassword, newPassword }, cancellationToken: ct);

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

    public Task<ApiResult<SandboxTransfer>> SandboxDepositAsync(long amountMinor, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<SandboxTransfer>(HttpMethod.Post, "/api/users/me/wallet/sandbox-deposit", new { amountMinor }, idempotencyKey, cancellationToken: ct);

    public Task<ApiResult<SandboxTransfer>> SandboxWithdrawalAsync(long amountMinor, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<SandboxTransfer>(HttpMethod.Post, "/api/users/me/wallet/sandbox-withdrawal", new { amountMinor }, idempotencyKey, cancellationToken: ct);

    // Pools
    public Task<ApiResult<LiveChannel[]>> LiveChannelsAsync(CancellationToken ct = default) => GetAsync<LiveChannel[]>("/api/pools/channels", ct);

    public Task<ApiResult<Pool[]>> LivePoolsAsync(string channel, CancellationToken ct = default) =>
        GetAsync<Pool[]>($"/api/pools/live{Query("channel", channel, first: true)}", ct);

    /// <summary>The channel's resolved and cancelled pools, most recently closed first, with whether each was paid out.</summary>
    public Task<ApiResult<Pool[]>> FinishedPoolsAsync(string channel, CancellationToken ct = default) =>
        GetAsync<Pool[]>($"/api/pools/finished{Query("channel", channel, first: true)}&limit=10", ct);

    public Task<ApiResult<Pool>> PoolAsync(Guid poolId, CancellationToken ct = default) => GetAsync<Pool>($"/api/pools/{poolId}", ct);

    /// <summary>The channels linked to the signed-in streamer: the only ones they can open pools on.</summary>
    public Task<ApiResult<ChannelLink[]>> MyChannelsAsync(CancellationToken ct = default) => GetAsync<ChannelLink[]>("/api/pools/channels/mine", ct);

    public Task<ApiResult<PoolTemplate[]>> PoolTemplatesAsync(CancellationToken ct = default) => GetAsync<PoolTemplate[]>("/api/pools/templates", ct);

    /// <summary>Opens a pool: the same <paramref name="idempotencyKey"/> and body again answers the pool first opened, not a second.</summary>
    public Task<ApiResult<Pool>> CreatePoolAsync(CreatePoolRequest request, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, "/api/pools", request, idempotencyKey, cancellationToken: ct);

    public Task<ApiResult<Pool>> LockPoolAsync(Guid poolId, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, $"/api/pools/{poolId}/lock", new { }, cancellationToken: ct);

    public Task<ApiResult<Pool>> ResolvePoolAsync(Guid poolId, IReadOnlyList<Guid> winningOutcomeIds, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, $"/api/pools/{poolId}/resolve", new { winningOutcomeIds }, cancellationToken: ct);

    public Task<ApiResult<Pool>> CancelPoolAsync(Guid poolId, CancellationToken ct = default) =>
        SendAsync<Pool>(HttpMethod.Post, $"/api/pools/{poolId}/cancel", new { }, cancellationToken: ct);

    /// <summary>
    /// Adds to <paramref name="known"/> the pools among <paramref name="poolIds"/> it lacks, in one call (a page of bets
    /// or wallet lines names at most 100, Pools' limit per call); a pool that no longer exists is known as null. If the
    /// call fails nothing is added, so the next page asks again.
    /// </summary>
    public async Task AddPoolsAsync(Dictionary<Guid, Pool?> known, IEnumerable<Guid> poolIds, CancellationToken ct = default)
    {
        var missing = poolIds.Distinct().Where(id => !known.ContainsKey(id)).ToList();
        if (missing.Count == 0)
        {
            return;
        }
        var pools = await GetAsync<Pool[]>($"/api/pools?ids={string.Join(',', missing)}", ct);
        if (pools.Succeeded)
        {
            var found = pools.Value!.ToDictionary(p => p.Id);
            missing.ForEach(id => known[id] = found.GetValueOrDefault(id));
        }
    }

    public Task<ApiResult<Leaderboard>> LeaderboardAsync(string scope, string period, CancellationToken ct = default) =>
        GetAsync<Leaderboard>($"/api/pools/leaderboards?limit=20{Query("scope", scope)}{Query("period", period)}", ct);

    // Settlement
    /// <summary>
    /// How paying out the pool goes, for the streamer who runs its channel (or an admin). 404 until Settlement has heard
    /// the pool finished, and for a pool not theirs; 503 while Pools cannot say whose it is.
    /// </summary>
    public Task<ApiResult<PoolSettlement>> SettlementAsync(Guid poolId, CancellationToken ct = default) =>
        GetAsync<PoolSettlement>($"/api/settlements/{poolId}", ct);

    // Bets
    public Task<ApiResult<Bet>> PlaceBetAsync(Guid poolId, Guid outcomeId, long stakeMinor, string idempotencyKey, CancellationToken ct = default) =>
        SendAsync<Bet>(HttpMethod.Post, "/api/bets", new { poolId, outcomeId, stakeMinor }, idempotencyKey, cancellationToken: ct);

    public Task<ApiResult<Bet>> BetAsync(Guid betId, CancellationToken ct = default) => GetAsync<Bet>($"/api/bets/{betId}", ct);

    public Task<ApiResult<BetPage>> MyBetsAsync(string? status, string? cursor, int limit = 20, Guid? poolId = null, CancellationToken ct = default) =>
        GetAsync<BetPage>($"/api/bets/mine?limit={limit}{Query("status", status)}{Query("cursor", cursor)}{Query("poolId", poolId?.ToString())}", ct);
}
