using System.Net;
using System.Net.Http.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using StreamBets.Contracts.Users;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Tests;

/// <summary>Limits and self-exclusion through the player's REST API, judged by CheckEligibility over real gRPC.</summary>
public sealed class ResponsibleGamblingEligibilityTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    [Fact]
    public async Task A_lower_limit_applies_at_once_and_a_higher_one_only_after_24_hours()
    {
        var player = await app.NewPlayerAsync();
        await SetLimitsAsync(player, deposit24h: 10_000);

        var lowered = await SetLimitsAsync(player, deposit24h: 5_000);
        var raised = await SetLimitsAsync(player, deposit24h: 20_000);

        Assert.Equal(5_000, lowered.Deposit24hMinor.Current);
        Assert.Equal((5_000L, 20_000L, app.Clock.GetUtcNow().AddHours(24)), (raised.Deposit24hMinor.Current, raised.Deposit24hMinor.Pending, raised.Deposit24hMinor.PendingEffectiveAt));
        Assert.Equal("deposit-limit-exceeded", (await CheckAsync(player, EligibilityAction.Deposit, 6_000)).Reason);

        app.Clock.Advance(TimeSpan.FromHours(23));
        Assert.Equal(5_000, (await GetLimitsAsync(player)).Deposit24hMinor.Current);

        app.Clock.Advance(TimeSpan.FromHours(1));
        var later = await GetLimitsAsync(player);
        Assert.Equal((20_000L, (long?)null), (later.Deposit24hMinor.Current, later.Deposit24hMinor.Pending));
        Assert.True((await CheckAsync(player, EligibilityAction.Deposit, 6_000)).Allowed);
    }

    [Fact]
    public async Task The_lowest_remaining_deposit_allowance_wins_over_rolling_windows()
    {
        var player = await app.NewPlayerAsync();
        await SetLimitsAsync(player, deposit24h: 10_000, deposit7d: 6_000);
        await RecordDepositAsync(player, 4_000);

        var tooMuch = await CheckAsync(player, EligibilityAction.Deposit, 2_500);
        var enough = await CheckAsync(player, EligibilityAction.Deposit, 2_000);
        app.Clock.Advance(TimeSpan.FromDays(7).Add(TimeSpan.FromMinutes(1)));
        var aWeekLater = await CheckAsync(player, EligibilityAction.Deposit, 6_000);

        Assert.Equal((false, "deposit-limit-exceeded", 2_000L), (tooMuch.Allowed, tooMuch.Reason, tooMuch.DepositAllowanceMinor));
        Assert.True(enough.Allowed);
        Assert.Equal((true, 6_000L), (aWeekLater.Allowed, aWeekLater.DepositAllowanceMinor));
    }

    [Fact]
    public async Task A_redelivered_deposit_counts_once()
    {
        var player = await app.NewPlayerAsync();
        await SetLimitsAsync(player, deposit24h: 10_000);
        var store = app.Services.GetRequiredService<ResponsibleGamblingStore>();
        var depositId = Guid.NewGuid();

        Assert.True(await store.RecordDepositAsync(depositId, player.Id, 3_000, app.Clock.GetUtcNow(), default));
        Assert.False(await store.RecordDepositAsync(depositId, player.Id, 3_000, app.Clock.GetUtcNow(), default));

        Assert.Equal(7_000, (await CheckAsync(player, EligibilityAction.Deposit, 1)).DepositAllowanceMinor);
    }

    [Theory]
    [InlineData(0L, null, null)]
    [InlineData(-100L, null, null)]
    [InlineData(null, 0L, null)]
    [InlineData(null, null, 1_441L)]
    public async Task Limits_out_of_range_are_a_validation_problem(long? deposit24h, long? deposit7d, long? sessionMinutes)
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = deposit24h, deposit7dMinor = deposit7d, sessionMinutes });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEmpty((await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors);
    }

    [Fact]
    public async Task A_misspelt_limit_is_refused_rather_than_read_as_asking_for_no_limits()
    {
        var player = await app.NewPlayerAsync();
        await SetLimitsAsync(player, deposit24h: 5_000);

        // "deposit24hLimitMinor" is no field: ignored, the request would have asked for every limit to go.
        var response = await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hLimitMinor = 9_000 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("deposit24hLimitMinor", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Detail);
        var limits = await GetLimitsAsync(player);
        Assert.Equal((5_000L, (long?)null), (limits.Deposit24hMinor.Current, limits.Deposit24hMinor.Pending));
    }

    [Fact]
    public async Task KYC_tiers_gate_betting_deposits_and_withdrawals()
    {
        var tier0 = await app.NewPlayerAsync(country: "PT");
        var tier1 = await app.NewPlayerAsync();

        Assert.Equal("kyc-tier-too-low", (await CheckAsync(tier0, EligibilityAction.Bet)).Reason);
        Assert.Equal("kyc-tier-too-low", (await CheckAsync(tier0, EligibilityAction.Deposit, 1_000)).Reason);
        Assert.True((await CheckAsync(tier1, EligibilityAction.Bet)).Allowed);
        Assert.True((await CheckAsync(tier1, EligibilityAction.Deposit, 1_000)).Allowed);
        var withdrawal = await CheckAsync(tier1, EligibilityAction.Withdraw, 1_000);
        Assert.Equal((false, "kyc-tier-too-low", 1), (withdrawal.Allowed, withdrawal.Reason, withdrawal.KycTier));
        Assert.False(string.IsNullOrWhiteSpace(withdrawal.Message));
    }

    [Fact]
    public async Task Self_exclusion_blocks_betting_deposits_and_marketing_at_once_but_never_withdrawals()
    {
        var player = await VerifiedPlayerAsync();
        await player.Client.PutAsJsonAsync("/api/users/me", new { displayName = "Ana", marketingOptIn = true });
        Assert.True((await app.Grpc.GetUserAsync(new GetUserRequest { UserId = player.Id.ToString() })).MarketingAllowed);

        var exclusion = await player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "6-months" });

        Assert.Equal(HttpStatusCode.OK, exclusion.StatusCode);
        Assert.Equal("self-excluded", (await CheckAsync(player, EligibilityAction.Bet)).Reason);
        Assert.Equal("self-excluded", (await CheckAsync(player, EligibilityAction.Deposit, 1_000)).Reason);
        Assert.True((await CheckAsync(player, EligibilityAction.Withdraw, 1_000)).Allowed);
        var user = await app.Grpc.GetUserAsync(new GetUserRequest { UserId = player.Id.ToString() });
        Assert.Equal((true, false), (user.SelfExcluded, user.MarketingAllowed));
    }

    [Fact]
    public async Task A_self_exclusion_cannot_be_shortened_and_ends_when_its_period_does()
    {
        var player = await app.NewPlayerAsync();
        await player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "12-months" });

        var shorter = await (await player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "6-months" })).Content.ReadFromJsonAsync<SelfExclusionView>();

        Assert.Equal(("12-months", app.Clock.GetUtcNow().AddMonths(12)), (shorter!.Period, shorter.EndsAt!.Value));
        app.Clock.Advance(TimeSpan.FromDays(366));
        Assert.True((await CheckAsync(player, EligibilityAction.Bet)).Allowed);
    }

    [Fact]
    public async Task An_unknown_self_exclusion_period_is_a_validation_problem()
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "1-week" });

        Assert.Contains("period", (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors.Keys);
    }

    [Fact]
    public async Task A_session_past_its_time_limit_may_not_bet_or_refresh_but_a_new_sign_in_may()
    {
        var player = await VerifiedPlayerAsync();
        await SetLimitsAsync(player, sessionMinutes: 30);

        app.Clock.Advance(TimeSpan.FromMinutes(31));

        Assert.Equal("session-limit-reached", (await CheckAsync(player, EligibilityAction.Bet)).Reason);
        Assert.True((await CheckAsync(player, EligibilityAction.Withdraw, 1_000)).Allowed);
        using var client = app.CreateClient();
        var refresh = await client.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken = player.Tokens.RefreshToken });
        Assert.Equal(HttpStatusCode.Forbidden, refresh.StatusCode);
        Assert.Equal("https://streambets.dev/problems/session-limit-reached", (await refresh.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        var newSession = await app.LoginAsync(player.Email, player.Password);
        Assert.True((await CheckAsync(player with { Tokens = newSession }, EligibilityAction.Bet)).Allowed);
    }

    [Fact]
    public async Task A_signed_in_player_whose_email_is_locked_for_sign_in_may_still_bet_and_deposit()
    {
        var player = await app.NewPlayerAsync();

        // Guessers have locked the email from every network: no new session, but the player's own proved the password.
        Assert.Equal(HttpStatusCode.Locked, await app.LockSignInEverywhereAsync(player.Email));

        Assert.True((await CheckAsync(player, EligibilityAction.Bet)).Allowed);
        Assert.True((await CheckAsync(player, EligibilityAction.Deposit, 1_000)).Allowed);
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.Locked, (await AccountsTestApp.AttemptLoginAsync(anonymous, player.Email, player.Password, "ip:192.0.2.200")).StatusCode);
    }

    [Fact]
    public async Task Unknown_users_and_malformed_requests_are_gRPC_errors()
    {
        var unknown = await Assert.ThrowsAsync<RpcException>(() => app.Grpc.CheckEligibilityAsync(
            new CheckEligibilityRequest { UserId = Guid.NewGuid().ToString(), Action = EligibilityAction.Bet }).ResponseAsync);
        var malformed = await Assert.ThrowsAsync<RpcException>(() => app.Grpc.CheckEligibilityAsync(
            new CheckEligibilityRequest { UserId = "not-a-uuid", Action = EligibilityAction.Bet }).ResponseAsync);
        var noAction = await Assert.ThrowsAsync<RpcException>(() => app.Grpc.CheckEligibilityAsync(
            new CheckEligibilityRequest { UserId = Guid.NewGuid().ToString() }).ResponseAsync);

        Assert.Equal((StatusCode.NotFound, StatusCode.InvalidArgument, StatusCode.InvalidArgument), (unknown.StatusCode, malformed.StatusCode, noAction.StatusCode));
    }

    [Fact]
    public async Task A_batch_answers_every_check_in_request_order_from_that_players_own_limits_deposits_and_session()
    {
        var excluded = await app.NewPlayerAsync();
        await excluded.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "6-months" });
        var limited = await app.NewPlayerAsync();
        await SetLimitsAsync(limited, deposit24h: 10_000);
        await RecordDepositAsync(limited, 4_000);
        var timed = await app.NewPlayerAsync();
        await SetLimitsAsync(timed, sessionMinutes: 30);
        var plain = await app.NewPlayerAsync();
        var tier0 = await app.NewPlayerAsync(country: "PT");
        app.Clock.Advance(TimeSpan.FromMinutes(31));
        var unknown = Guid.NewGuid();

        var request = new CheckEligibilityBatchRequest
        {
            Checks =
            {
                Check(limited, EligibilityAction.Deposit, 7_000),
                Check(excluded, EligibilityAction.Bet),
                new CheckEligibilityRequest { UserId = unknown.ToString(), Action = EligibilityAction.Bet },
                Check(plain, EligibilityAction.Deposit, 50_000),
                Check(timed, EligibilityAction.Bet),
                Check(limited, EligibilityAction.Deposit, 6_000),
                Check(tier0, EligibilityAction.Bet),
                Check(plain, EligibilityAction.Bet),
                Check(timed, EligibilityAction.Withdraw, 1_000),
            },
        };
        var replies = (await app.Grpc.CheckEligibilityBatchAsync(request)).Replies;

        Assert.Equal(
            [
                (false, "deposit-limit-exceeded", 1, (long?)6_000),
                (false, "self-excluded", 1, null),
                (false, "user-not-found", 0, null),
                (true, "", 1, null),
                (false, "session-limit-reached", 1, null),
                (true, "", 1, 6_000),
                (false, "kyc-tier-too-low", 0, null),
                (true, "", 1, null),
                (false, "kyc-tier-too-low", 1, null),
            ],
            replies.Select(r => (r.Allowed, r.Reason, r.KycTier, r.HasDepositAllowanceMinor ? r.DepositAllowanceMinor : (long?)null)));
    }

    [Fact]
    public async Task A_batch_with_a_malformed_check_or_too_many_checks_is_refused_whole_naming_the_problem()
    {
        var player = await app.NewPlayerAsync();
        var malformed = new CheckEligibilityBatchRequest
        {
            Checks = { Check(player, EligibilityAction.Bet), new CheckEligibilityRequest { UserId = "not-a-uuid", Action = EligibilityAction.Bet } },
        };
        var tooMany = new CheckEligibilityBatchRequest();
        tooMany.Checks.AddRange(Enumerable.Range(0, 1_001).Select(_ => Check(player, EligibilityAction.Bet)));

        var refusedMalformed = await Assert.ThrowsAsync<RpcException>(() => app.Grpc.CheckEligibilityBatchAsync(malformed).ResponseAsync);
        var refusedTooMany = await Assert.ThrowsAsync<RpcException>(() => app.Grpc.CheckEligibilityBatchAsync(tooMany).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, "checks[1].user_id is not a UUID."), (refusedMalformed.StatusCode, refusedMalformed.Status.Detail));
        Assert.Equal((StatusCode.InvalidArgument, "A batch holds at most 1000 checks; this one has 1001."), (refusedTooMany.StatusCode, refusedTooMany.Status.Detail));
    }

    private async Task<TestPlayer> VerifiedPlayerAsync()
    {
        var player = await app.NewPlayerAsync();
        var check = await KycTests.StartCheckAsync(player);
        using var provider = app.CreateClient();
        var body = KycTests.DocumentedCheckCompleted(check.ProviderCheckId);
        (await KycTests.PostWebhookAsync(provider, "sandbox", body, KycTests.Sign(body, AccountsTestApp.SandboxWebhookToken))).EnsureSuccessStatusCode();
        return player;
    }

    private async Task<CheckEligibilityReply> CheckAsync(TestPlayer player, EligibilityAction action, long? amountMinor = null) =>
        await app.Grpc.CheckEligibilityAsync(Check(player, action, amountMinor));

    private static CheckEligibilityRequest Check(TestPlayer player, EligibilityAction action, long? amountMinor = null)
    {
        var request = new CheckEligibilityRequest
        {
            UserId = player.Id.ToString(),
            Action = action,
            SessionId = new JsonWebToken(player.Tokens.AccessToken).GetClaim("sid").Value,
        };
        if (amountMinor is { } amount)
        {
            request.AmountMinor = amount;
        }
        return request;
    }

    private async Task<LimitsView> SetLimitsAsync(TestPlayer player, long? deposit24h = null, long? deposit7d = null, long? sessionMinutes = null)
    {
        // Each call re-authenticates: the clock moves in these tests and access tokens live 15 minutes.
        using var client = app.ClientFor((await app.LoginAsync(player.Email, player.Password)).AccessToken);
        var response = await client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = deposit24h, deposit7dMinor = deposit7d, sessionMinutes });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<LimitsView>())!;
    }

    private async Task<LimitsView> GetLimitsAsync(TestPlayer player)
    {
        using var client = app.ClientFor((await app.LoginAsync(player.Email, player.Password)).AccessToken);
        return (await client.GetFromJsonAsync<LimitsView>("/api/users/me/limits"))!;
    }

    private Task RecordDepositAsync(TestPlayer player, long amountMinor) =>
        app.Services.GetRequiredService<ResponsibleGamblingStore>().RecordDepositAsync(Guid.NewGuid(), player.Id, amountMinor, app.Clock.GetUtcNow(), default);
}
