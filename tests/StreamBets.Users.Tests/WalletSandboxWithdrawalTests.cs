using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Users.Apis;

namespace StreamBets.Users.Tests;

/// <summary>
/// Players withdraw play money in local mode (POST /api/users/me/wallet/sandbox-withdrawal), under the setting of sandbox
/// deposits. It is judged like a real withdrawal: KYC tier 2, age; self-exclusion and a sign-in lockout do not stop it. The ledger
/// moves the money from the wallet to PSP clearing, never more than the balance.
/// </summary>
public sealed class WalletSandboxWithdrawalTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private const string Problems = "https://streambets.dev/problems/";
    private const string WithdrawalPath = "/api/users/me/wallet/sandbox-withdrawal";

    [Fact]
    public async Task A_verified_player_withdraws_exactly_the_amount_to_psp_clearing_and_the_ledger_still_sums_to_zero()
    {
        var player = await VerifiedPlayerWithAsync(10_000);
        var pspBefore = await PspClearingAsync();

        var response = await player.Client.SendAsync(Withdraw(2_500, $"withdraw-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var withdrawal = (await response.Content.ReadFromJsonAsync<SandboxWithdrawalResponse>())!;
        Assert.Equal((player.Id, 2_500L, 7_500L), (withdrawal.UserId, withdrawal.AmountMinor, withdrawal.BalanceMinor));
        Assert.False(response.Headers.Contains(WalletApi.ReplayedHeader));
        Assert.Equal(7_500, await BalanceAsync(player));
        Assert.Equal(pspBefore + 2_500, await PspClearingAsync());
        var line = (await player.Client.GetFromJsonAsync<WalletHistoryResponse>("/api/users/me/wallet/history"))!.Items[0];
        Assert.Equal((withdrawal.TransferId, WalletApi.SandboxWithdrawalReason, -2_500L, 7_500L, (Guid?)null),
            (line.TransferId, line.Reason, line.AmountMinor, line.BalanceAfterMinor, line.PoolId));
        await AssertLedgerSumsToZeroAsync();
    }

    [Fact]
    public async Task A_withdrawal_publishes_WalletsChanged_with_its_reason_like_any_wallet_movement()
    {
        var player = await VerifiedPlayerWithAsync(5_000);

        var withdrawal = await (await player.Client.SendAsync(Withdraw(1_200, $"event-{Guid.NewGuid()}"))).Content.ReadFromJsonAsync<SandboxWithdrawalResponse>();

        using var published = await PublishedWalletEventAsync(withdrawal!.TransferId);
        var change = Assert.Single(published.RootElement.GetProperty("data").GetProperty("changes").EnumerateArray());
        Assert.Equal((player.Id, -1_200L, 3_800L, WalletApi.SandboxWithdrawalReason),
            (change.GetProperty("userId").GetGuid(), change.GetProperty("deltaMinor").GetInt64(), change.GetProperty("balanceMinor").GetInt64(),
                change.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Second_request_with_same_idempotency_key_returns_first_result_and_moves_nothing_more()
    {
        var player = await VerifiedPlayerWithAsync(10_000);
        var key = $"withdraw-{Guid.NewGuid()}";

        var first = await player.Client.SendAsync(Withdraw(3_000, key));
        var replay = await player.Client.SendAsync(Withdraw(3_000, key));
        var sameKeyOtherAmount = await player.Client.SendAsync(Withdraw(4_000, key));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, replay.StatusCode));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues(WalletApi.ReplayedHeader)));
        var (firstAnswer, replayAnswer) = (await first.Content.ReadFromJsonAsync<SandboxWithdrawalResponse>(), await replay.Content.ReadFromJsonAsync<SandboxWithdrawalResponse>());
        Assert.Equal(firstAnswer, replayAnswer);
        Assert.Equal(HttpStatusCode.Conflict, sameKeyOtherAmount.StatusCode);
        Assert.Equal(Problems + "idempotency-key-reused", (await sameKeyOtherAmount.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(7_000, await BalanceAsync(player));
        Assert.Equal(1L, await WithdrawalCountAsync(player));
    }

    [Fact]
    public async Task Ten_requests_at_once_with_the_same_idempotency_key_withdraw_once()
    {
        var player = await VerifiedPlayerWithAsync(10_000);
        var key = $"rush-{Guid.NewGuid()}";

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => player.Client.SendAsync(Withdraw(3_000, key))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Single(answers, a => !a.Headers.Contains(WalletApi.ReplayedHeader));
        Assert.Equal(7_000, await BalanceAsync(player));
        Assert.Equal(1L, await WithdrawalCountAsync(player));
        await AssertLedgerSumsToZeroAsync();
    }

    [Fact]
    public async Task Withdrawals_sent_at_once_with_different_keys_never_overdraw_the_wallet()
    {
        var player = await VerifiedPlayerWithAsync(10_000);

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => player.Client.SendAsync(Withdraw(3_000, $"rush-{i}-{Guid.NewGuid()}"))));

        Assert.Equal(3, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.OK))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            Assert.Equal(Problems + "insufficient-funds", (await refused.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        }
        Assert.Equal(1_000, await BalanceAsync(player));
        var history = (await player.Client.GetFromJsonAsync<WalletHistoryResponse>("/api/users/me/wallet/history"))!.Items;
        Assert.All(history, line => Assert.True(line.BalanceAfterMinor >= 0, $"The balance went to {line.BalanceAfterMinor}."));
        Assert.Equal(-9_000, history.Where(l => l.Reason == WalletApi.SandboxWithdrawalReason).Sum(l => l.AmountMinor));
        await AssertLedgerSumsToZeroAsync();
    }

    [Fact]
    public async Task A_withdrawal_beyond_the_balance_is_refused_and_leaves_no_trace_so_its_key_works_once_funds_arrive()
    {
        var player = await VerifiedPlayerWithAsync(1_000);
        var key = $"too-much-{Guid.NewGuid()}";

        var refused = await player.Client.SendAsync(Withdraw(1_001, key));
        var balanceAfterRefusal = await BalanceAsync(player);
        await DepositAsync(player, 1_000);
        var retried = await player.Client.SendAsync(Withdraw(1_001, key));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Problems + "insufficient-funds", (await refused.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(1_000, balanceAfterRefusal);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.False(retried.Headers.Contains(WalletApi.ReplayedHeader));
        Assert.Equal(999, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_player_without_a_verified_identity_cannot_withdraw()
    {
        var player = await app.NewPlayerAsync(); // tier 1: may deposit and bet, not withdraw
        await DepositAsync(player, 5_000);

        var response = await player.Client.SendAsync(Withdraw(1_000, $"tier1-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ProblemDetails>())!;
        Assert.Equal((Problems + "kyc-tier-too-low", "Withdrawal not allowed"), (problem.Type, problem.Title));
        Assert.Equal(5_000, await BalanceAsync(player));
        Assert.Equal(0L, await WithdrawalCountAsync(player));
    }

    [Fact]
    public async Task A_self_excluded_player_can_still_withdraw_their_balance()
    {
        var player = await VerifiedPlayerWithAsync(4_000);
        (await player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "indefinite" })).EnsureSuccessStatusCode();

        var response = await player.Client.SendAsync(Withdraw(4_000, $"excluded-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_signed_in_player_whose_email_is_locked_for_sign_in_still_withdraws()
    {
        var player = await VerifiedPlayerWithAsync(5_000);

        // Guessers have locked the email from every network; the player's session proved the password before.
        Assert.Equal(HttpStatusCode.Locked, await app.LockSignInEverywhereAsync(player.Email));
        var response = await player.Client.SendAsync(Withdraw(1_000, $"while-locked-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4_000, await BalanceAsync(player));
    }

    [Fact]
    public async Task Two_players_may_use_the_same_idempotency_key()
    {
        var (ana, bia) = (await VerifiedPlayerWithAsync(1_000), await VerifiedPlayerWithAsync(1_000));

        var forAna = await ana.Client.SendAsync(Withdraw(500, "my-first-withdrawal"));
        var forBia = await bia.Client.SendAsync(Withdraw(500, "my-first-withdrawal"));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (forAna.StatusCode, forBia.StatusCode));
        Assert.False(forBia.Headers.Contains(WalletApi.ReplayedHeader));
        Assert.Equal((500L, 500L), (await BalanceAsync(ana), await BalanceAsync(bia)));
    }

    public static TheoryData<string, string?, string?> BadWithdrawals => new()
    {
        { "no amount", "bad-no-amount", "{}" },
        { "zero amount", "bad-zero", """{"amountMinor":0}""" },
        { "negative amount", "bad-negative", """{"amountMinor":-100}""" },
        { "fractional amount", "bad-fraction", """{"amountMinor":10.5}""" },
        { "amount as words", "bad-words", """{"amountMinor":"ten"}""" },
        { "amount beyond 64 bits", "bad-overflow", """{"amountMinor":99999999999999999999}""" },
        { "amount above the per-call cap", "bad-cap", $$"""{"amountMinor":{{WalletApi.MaxSandboxWithdrawalMinor + 1}}}""" },
        { "malformed JSON", "bad-json", """{"amountMinor":""" },
        { "no body", "bad-no-body", null },
        { "missing idempotency key", null, """{"amountMinor":100}""" },
        { "overlong idempotency key", new string('k', WalletApi.MaxIdempotencyKeyLength + 1), """{"amountMinor":100}""" },
    };

    [Theory]
    [MemberData(nameof(BadWithdrawals))]
    public async Task A_bad_withdrawal_request_gets_a_400_problem_and_moves_nothing(string why, string? key, string? body)
    {
        var player = await VerifiedPlayerWithAsync(1_000);
        using var request = new HttpRequestMessage(HttpMethod.Post, WithdrawalPath)
        {
            Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Add(WalletApi.IdempotencyKeyHeader, key); // keys are per player, and each case has a new one
        }

        var response = await player.Client.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{why}: {response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1_000, await BalanceAsync(player));
        Assert.Equal(0L, await WithdrawalCountAsync(player));
    }

    [Fact]
    public async Task An_anonymous_caller_cannot_withdraw()
    {
        using var anonymous = app.CreateClient();

        var response = await anonymous.SendAsync(Withdraw(1_000, $"anonymous-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_withdrawal_with_the_idempotency_key_header_sent_twice_is_refused_and_moves_nothing()
    {
        var player = await VerifiedPlayerWithAsync(10_000);
        var key = $"twice-{Guid.NewGuid()}";
        using var twice = Withdraw(2_500, key);
        twice.Headers.Add(WalletApi.IdempotencyKeyHeader, key);

        var response = await player.Client.SendAsync(twice);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Equal(Problems + "invalid-request", problem!.Type);
        Assert.Equal(["Send one Idempotency-Key header per request, not 2."], problem.Errors[WalletApi.IdempotencyKeyHeader]);
        Assert.Equal(10_000, await BalanceAsync(player));
    }

    private static HttpRequestMessage Withdraw(long amountMinor, string key) => new(HttpMethod.Post, WithdrawalPath)
    {
        Headers = { { WalletApi.IdempotencyKeyHeader, key } },
        Content = JsonContent.Create(new { amountMinor }),
    };

    /// <summary>
    /// A player at KYC tier 2 holding <paramref name="balanceMinor"/> from sandbox deposits. The tier is set in the database:
    /// the KYC tests cover how a provider check or an admin gets a player there; here only the tier matters.
    /// </summary>
    private async Task<TestPlayer> VerifiedPlayerWithAsync(long balanceMinor)
    {
        var player = await app.NewPlayerAsync();
        await DepositAsync(player, balanceMinor);
        await app.ScalarAsync<object>("UPDATE users SET kyc_tier = 2 WHERE id = $1", player.Id);
        return player;
    }

    private static async Task DepositAsync(TestPlayer player, long amountMinor)
    {
        using var deposit = new HttpRequestMessage(HttpMethod.Post, "/api/users/me/wallet/sandbox-deposit")
        {
            Headers = { { WalletApi.IdempotencyKeyHeader, $"fund-{Guid.NewGuid()}" } },
            Content = JsonContent.Create(new { amountMinor }),
        };
        (await player.Client.SendAsync(deposit)).EnsureSuccessStatusCode();
    }

    private static async Task<long> BalanceAsync(TestPlayer player) =>
        (await player.Client.GetFromJsonAsync<WalletBalanceResponse>("/api/users/me/wallet"))!.BalanceMinor;

    private async Task<long> PspClearingAsync() =>
        await app.ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE code = 'psp:clearing'), 0)");

    private async Task<long> WithdrawalCountAsync(TestPlayer player) => await app.ScalarAsync<long>(
        """
        SELECT count(*) FROM ledger_transfers t
        JOIN ledger_entries e ON e.transfer_seq = t.seq JOIN ledger_accounts a ON a.id = e.account_id
        WHERE t.reason = $1 AND a.code = $2
        """, WalletApi.SandboxWithdrawalReason, $"user:{player.Id:D}");

    /// <summary>Double entry: every transfer's entries sum to zero, and so do all balances together.</summary>
    private async Task AssertLedgerSumsToZeroAsync()
    {
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT coalesce(sum(balance), 0)::bigint FROM ledger_accounts"));
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM (SELECT transfer_seq FROM ledger_entries GROUP BY transfer_seq HAVING sum(amount) <> 0) unbalanced"));
    }

    /// <summary>The WalletsChanged event naming <paramref name="transferId"/>, as the outbox relay appended it to the wallet topic.</summary>
    private async Task<JsonDocument> PublishedWalletEventAsync(Guid transferId)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        var streams = Enumerable.Range(0, 16).Select(p => new RedisKey($"{app.BusPrefix}:{IntegrationTopics.Wallet}:{p}")).ToArray();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            foreach (var stream in streams)
            {
                var published = (await redis.GetDatabase().StreamRangeAsync(stream))
                    .Select(entry => (string?)entry["ce"])
                    .FirstOrDefault(ce => ce is not null && ce.Contains(transferId.ToString(), StringComparison.Ordinal));
                if (published is not null)
                {
                    return JsonDocument.Parse(published);
                }
            }
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"No WalletsChanged naming transfer {transferId} reached the bus.");
    }
}

/// <summary>Outside local mode (the setting of sandbox deposits off) there is no sandbox withdrawal either.</summary>
public sealed class WalletSandboxWithdrawalOffTests(WalletSandboxDepositOffTests.App app) : IClassFixture<WalletSandboxDepositOffTests.App>
{
    [Fact]
    public async Task Without_the_setting_there_is_no_sandbox_withdrawal()
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PostAsJsonAsync("/api/users/me/wallet/sandbox-withdrawal", new { amountMinor = 1_000 });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
