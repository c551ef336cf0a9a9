namespace StreamBets.Admin.Operations;

/// <summary>Every REST call the operators' console makes through the gateway, with the operator's access token.</summary>
public sealed class OperatorGateway(IHttpClientFactory http, UserSession session, ILogger<OperatorGateway> logger) : GatewayClientBase(http, session, logger)
{
    public const int PageSize = 20;

    // Settlements
    public Task<ApiResult<SettlementPage>> SettlementsAsync(string? status, string? cursor, CancellationToken ct = default) =>
        GetAsync<SettlementPage>($"/api/settlements?limit={PageSize}{Query("status", status)}{Query("cursor", cursor)}", ct);

    public Task<ApiResult<Settlement>> SettlementAsync(Guid poolId, CancellationToken ct = default) => GetAsync<Settlement>($"/api/settlements/{poolId}", ct);

    public Task<ApiResult<Settlement>> RequeueSettlementAsync(Guid poolId, CancellationToken ct = default) =>
        SendAsync<Settlement>(HttpMethod.Post, $"/api/settlements/{poolId}/requeue", new { }, cancellationToken: ct);

    /// <summary>
    /// The pools behind a page of rows, in one call, so each row can say which pool (question, channel) it is about.
    /// A pool Pools cannot show is left out and its row keeps just the id; so does every row when the call fails.
    /// </summary>
    public async Task<IReadOnlyList<PoolSummary>> PoolsAsync(IEnumerable<Guid> poolIds, CancellationToken ct = default)
    {
        var ids = poolIds.Distinct().ToList();
        return ids.Count == 0 ? [] : (await GetAsync<PoolSummary[]>($"/api/pools?ids={string.Join(',', ids)}", ct)).Value ?? [];
    }

    // Live pools
    public const int LivePoolsShown = 500;

    /// <summary>Every channel's open and locked pools, soonest lock first, in one call.</summary>
    public Task<ApiResult<PoolSummary[]>> LivePoolsAsync(CancellationToken ct = default) =>
        GetAsync<PoolSummary[]>($"/api/pools/admin/live?limit={LivePoolsShown}", ct);

    public Task<ApiResult<PoolSummary>> LockPoolAsync(Guid poolId, CancellationToken ct = default) =>
        SendAsync<PoolSummary>(HttpMethod.Post, $"/api/pools/{poolId}/lock", new { }, cancellationToken: ct);

    public Task<ApiResult<PoolSummary>> CancelPoolAsync(Guid poolId, CancellationToken ct = default) =>
        SendAsync<PoolSummary>(HttpMethod.Post, $"/api/pools/{poolId}/cancel", new { }, cancellationToken: ct);

    // KYC review
    /// <summary>The review queue, longest waiting for a decision first, a page at a time: null <paramref name="cursor"/> for the first.</summary>
    public Task<ApiResult<KycReviewPage>> KycReviewsAsync(string? cursor, CancellationToken ct = default) =>
        GetAsync<KycReviewPage>($"/api/users/admin/kyc/reviews?limit={PageSize}{Query("cursor", cursor)}", ct);

    public Task<ApiResult<KycCheck>> DecideKycAsync(Guid checkId, bool approve, string? note, CancellationToken ct = default) =>
        SendAsync<KycCheck>(HttpMethod.Post, $"/api/users/admin/kyc/reviews/{checkId}/{(approve ? "approve" : "reject")}", new { note }, cancellationToken: ct);

    // Accounts
    public Task<ApiResult<Account>> FindAccountAsync(string email, CancellationToken ct = default) =>
        GetAsync<Account>($"/api/users/admin/users{Query("email", email, first: true)}", ct);

    public Task<ApiResult<Account>> ChangeRoleAsync(Guid userId, string role, CancellationToken ct = default) =>
        SendAsync<Account>(HttpMethod.Put, $"/api/users/admin/users/{userId}/role", new { role }, cancellationToken: ct);

    // A streamer's channels: the only ones they may open pools on
    public Task<ApiResult<ChannelLink[]>> ChannelsOfAsync(Guid ownerId, CancellationToken ct = default) =>
        GetAsync<ChannelLink[]>($"/api/pools/admin/channels?ownerId={ownerId}", ct);

    /// <summary>Whose the channel is now; a channel-not-linked problem when no one's.</summary>
    public Task<ApiResult<ChannelLink>> ChannelLinkAsync(PoolChannel channel, CancellationToken ct = default) =>
        GetAsync<ChannelLink>(ChannelPath(channel.Provider, channel.ChannelId), ct);

    public Task<ApiResult<ChannelLink>> LinkChannelAsync(string provider, string channelId, Guid ownerId, CancellationToken ct = default) =>
        SendAsync<ChannelLink>(HttpMethod.Put, ChannelPath(provider, channelId), new { ownerId }, cancellationToken: ct);

    /// <summary>Unlinks the channel from the owner the operator saw: refused (channel-owner-changed) if it moved meanwhile.</summary>
    public Task<ApiResult<bool>> UnlinkChannelAsync(PoolChannel channel, Guid ownerId, CancellationToken ct = default) =>
        SendAsync<bool>(HttpMethod.Delete, $"{ChannelPath(channel.Provider, channel.ChannelId)}?ownerId={ownerId}", null, cancellationToken: ct);

    private static string ChannelPath(string provider, string channelId) =>
        $"/api/pools/admin/channels/{Uri.EscapeDataString(provider)}/{Uri.EscapeDataString(channelId)}";

    // Support: a player's wallet and bets, as the player sees them
    public Task<ApiResult<WalletBalance>> WalletAsync(Guid userId, CancellationToken ct = default) =>
        GetAsync<WalletBalance>($"/api/users/admin/wallets/{userId}", ct);

    public Task<ApiResult<WalletHistoryPage>> WalletHistoryAsync(Guid userId, string? cursor, CancellationToken ct = default) =>
        GetAsync<WalletHistoryPage>($"/api/users/admin/wallets/{userId}/history?limit={PageSize}{Query("cursor", cursor)}", ct);

    public Task<ApiResult<BetPage>> BetsAsync(Guid userId, string? cursor, CancellationToken ct = default) =>
        GetAsync<BetPage>($"/api/bets/users/{userId}?limit={PageSize}{Query("cursor", cursor)}", ct);

    // Pool configuration and templates
    public Task<ApiResult<PoolsSettings>> PoolsSettingsAsync(CancellationToken ct = default) => GetAsync<PoolsSettings>("/api/pools/admin/config", ct);

    /// <summary>
    /// Saves the defaults if they are still at <see cref="PoolsSettings.Version"/> (else config-changed), every field
    /// sent, as Pools requires: the PUT replaces the whole configuration (a broken stored document included).
    /// </summary>
    public Task<ApiResult<PoolsSettings>> SavePoolsSettingsAsync(PoolsSettings settings, CancellationToken ct = default) =>
        SendAsync<PoolsSettings>(HttpMethod.Put, "/api/pools/admin/config",
            new
            {
                settings.DefaultRakeBasisPoints, settings.DefaultMinStakeMinor, settings.DefaultMaxStakeMinor, settings.OneActivePoolPerChannel,
                settings.AutoCancelAfterHours, settings.Version,
            },
            cancellationToken: ct);

    public Task<ApiResult<PoolTemplate[]>> TemplatesAsync(CancellationToken ct = default) => GetAsync<PoolTemplate[]>("/api/pools/admin/templates", ct);

    /// <summary>Creates the template (no version: template-exists if the id is taken) or replaces it at its version (else template-changed).</summary>
    public Task<ApiResult<PoolTemplate>> SaveTemplateAsync(PoolTemplate template, CancellationToken ct = default) =>
        SendAsync<PoolTemplate>(HttpMethod.Put, $"/api/pools/admin/templates/{Uri.EscapeDataString(template.Id)}",
            new { template.Title, template.Outcomes, template.BettingWindowSeconds, template.MinStakeMinor, template.MaxStakeMinor, template.Version },
            cancellationToken: ct);

    /// <summary>Deletes the template as the operator saw it (its <see cref="PoolTemplate.Version"/>): template-changed if another admin changed it since.</summary>
    public Task<ApiResult<bool>> DeleteTemplateAsync(PoolTemplate template, CancellationToken ct = default) =>
        SendAsync<bool>(HttpMethod.Delete, $"/api/pools/admin/templates/{Uri.EscapeDataString(template.Id)}{Query("version", template.Version, first: true)}", null,
            cancellationToken: ct);

    public Task<ApiResult<AdminChangePage>> PoolsChangesAsync(string? cursor, CancellationToken ct = default) =>
        GetAsync<AdminChangePage>($"/api/pools/admin/changes?limit={PageSize}{Query("cursor", cursor)}", ct);
}
