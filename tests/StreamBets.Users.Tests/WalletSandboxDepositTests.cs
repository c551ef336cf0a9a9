using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using StreamBets.Testing;
using StreamBets.Users.Apis;
using static StreamBets.Users.Tests.SandboxDepositRequests;

namespace StreamBets.Users.Tests;

/// <summary>
/// Players deposit play money in local mode (POST /api/users/me/wallet/sandbox-deposit). The Development settings turn
/// it on; it is judged like a real deposit: KYC tier, self-exclusion and deposit limits, and it counts towards the limits.
/// </summary>
public sealed class WalletSandboxDepositTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private const string Problems = "https://streambets.dev/problems/";

    [Fact]
    public async Task A_player_deposits_play_money_into_their_own_wallet_once_per_idempotency_key()
    {
        var player = await app.NewPlayerAsync();
        var key = $"deposit-{Guid.NewGuid()}";

        var first = await player.Client.SendAsync(Deposit(2_500, key));
        var replay = await player.Client.SendAsync(Deposit(2_500, key));
        var sameKeyOtherAmount = await player.Client.SendAsync(Deposit(9_000, key));
        var wallet = await player.Client.GetFromJsonAsync<WalletBalanceResponse>("/api/users/me/wallet");
        var history = await player.Client.GetFromJsonAsync<WalletHistoryResponse>("/api/users/me/wallet/history");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var deposit = (await first.Content.ReadFromJsonAsync<SandboxCreditResponse>())!;
        Assert.Equal((player.Id, 2_500L, 2_500L), (deposit.UserId, deposit.AmountMinor, deposit.BalanceMinor));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues(WalletApi.ReplayedHeader)));
        Assert.Equal(HttpStatusCode.Conflict, sameKeyOtherAmount.StatusCode);
        Assert.Equal(2_500, wallet!.BalanceMinor);
        Assert.Equal(WalletApi.SandboxDepositReason, Assert.Single(history!.Items).Reason);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM rg_deposits WHERE user_id = $1", player.Id));
    }

    [Fact]
    public async Task Two_players_may_use_the_same_idempotency_key()
    {
        var (ana, bia) = (await app.NewPlayerAsync(), await app.NewPlayerAsync());

        var forAna = await ana.Client.SendAsync(Deposit(1_000, "my-first-deposit"));
        var forBia = await bia.Client.SendAsync(Deposit(1_000, "my-first-deposit"));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (forAna.StatusCode, forBia.StatusCode));
        Assert.False(forBia.Headers.Contains(WalletApi.ReplayedHeader));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-100)]
    [InlineData(WalletApi.MaxSandboxDepositMinor + 1)]
    public async Task A_deposit_outside_one_cent_to_the_per_call_cap_is_refused(long amountMinor)
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.SendAsync(Deposit(amountMinor, $"bad-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Contains("amountMinor", problem!.Errors.Keys);
        Assert.Equal(0, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_deposit_with_the_idempotency_key_header_sent_twice_is_refused_and_moves_nothing()
    {
        var player = await app.NewPlayerAsync();
        var key = $"twice-{Guid.NewGuid()}";
        using var twice = Deposit(1_000, key);
        twice.Headers.Add(WalletApi.IdempotencyKeyHeader, key);

        var response = await player.Client.SendAsync(twice);
        var retry = await player.Client.SendAsync(Deposit(1_000, key));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Equal(Problems + "invalid-request", problem!.Type);
        Assert.Equal(["Send one Idempotency-Key header per request, not 2."], problem.Errors[WalletApi.IdempotencyKeyHeader]);
        // Joined into one key "k,k", the first request used to deposit, and the retry with "k" deposited again.
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(1_000, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_deposit_without_an_idempotency_key_is_refused()
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PostAsJsonAsync("/api/users/me/wallet/sandbox-deposit", new { amountMinor = 1_000 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, await BalanceAsync(player));
    }

    [Fact]
    public async Task Deposits_count_towards_the_deposit_limit_and_one_beyond_it_is_refused()
    {
        var player = await app.NewPlayerAsync();
        (await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = 5_000 })).EnsureSuccessStatusCode();

        var firstKey = $"a-{Guid.NewGuid()}";

        var withinLimit = await player.Client.SendAsync(Deposit(3_000, firstKey));
        var beyondLimit = await player.Client.SendAsync(Deposit(3_000, $"b-{Guid.NewGuid()}"));
        var replayOfFirst = await player.Client.SendAsync(Deposit(3_000, firstKey));

        Assert.Equal(HttpStatusCode.OK, withinLimit.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, beyondLimit.StatusCode);
        var problem = (await beyondLimit.Content.ReadFromJsonAsync<ProblemDetails>())!;
        Assert.Equal(Problems + "deposit-limit-exceeded", problem.Type);
        Assert.Equal(2_000L, ((System.Text.Json.JsonElement)problem.Extensions["depositAllowanceMinor"]!).GetInt64());
        Assert.Equal(HttpStatusCode.OK, replayOfFirst.StatusCode);
        Assert.Equal(3_000, await BalanceAsync(player));
    }

    [Fact]
    public async Task Deposits_sent_at_once_cannot_together_pass_the_deposit_limit()
    {
        var player = await app.NewPlayerAsync();
        (await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = 5_000 })).EnsureSuccessStatusCode();

        // Each would pass the check alone; checked side by side against the same total, all five would go through.
        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => player.Client.SendAsync(Deposit(3_000, $"rush-{i}-{Guid.NewGuid()}"))));

        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK);
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.OK), a => Assert.Equal(HttpStatusCode.UnprocessableEntity, a.StatusCode));
        Assert.Equal(3_000, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_deposit_whose_record_fails_is_not_credited_so_the_next_cannot_pass_the_limit()
    {
        var player = await app.NewPlayerAsync();
        (await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = 5_000 })).EnsureSuccessStatusCode();

        HttpResponseMessage failed;
        await using (await FailNextDepositRecordAsync(player.Id))
        {
            failed = await player.Client.SendAsync(Deposit(3_000, $"fails-{Guid.NewGuid()}"));
        }
        var balanceAfterFailure = await BalanceAsync(player);
        var accepted = await player.Client.SendAsync(Deposit(3_000, $"next-{Guid.NewGuid()}"));
        var beyondLimit = await player.Client.SendAsync(Deposit(3_000, $"beyond-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("application/problem+json", failed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, balanceAfterFailure);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, beyondLimit.StatusCode);
        Assert.Equal(3_000, await BalanceAsync(player));
        Assert.Equal(3_000L, await DepositedAsync(player.Id));
    }

    [Fact]
    public async Task More_deposits_from_one_player_at_once_than_the_connection_pool_holds_are_all_answered_promptly()
    {
        var player = await app.NewPlayerAsync();
        (await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = 25_000 })).EnsureSuccessStatusCode();
        var count = app.MaxPoolSize + 10;

        var (answers, elapsed) = await TimedAsync(Enumerable.Range(0, count).Select(i => player.Client.SendAsync(Deposit(1_000, $"crowd-{i}-{Guid.NewGuid()}"))));

        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.UnprocessableEntity }));
        Assert.True(elapsed < PromptAnswer, $"{count} deposits took {elapsed}.");
        Assert.Equal(25, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.Equal(25_000, await BalanceAsync(player));
        Assert.Equal(25_000L, await DepositedAsync(player.Id));
    }

    [Fact]
    public async Task A_deposit_waiting_on_its_players_row_does_not_hold_up_other_players_deposits()
    {
        var (held, other) = (await app.NewPlayerAsync(), await app.NewPlayerAsync());
        Assert.Equal(HttpStatusCode.OK, (await held.Client.SendAsync(Deposit(1_000, $"first-{Guid.NewGuid()}"))).StatusCode); // its wallet exists
        // A limit change, a self-exclusion or a KYC tier change of that player holds its row meanwhile.
        await using var side = new NpgsqlConnection(app.ConnectionString);
        await side.OpenAsync();
        await using var lockRow = await side.BeginTransactionAsync();
        await using (var select = new NpgsqlCommand("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", side, lockRow) { Parameters = { new() { Value = held.Id } } })
        {
            await select.ExecuteScalarAsync();
        }

        var waiting = held.Client.SendAsync(Deposit(1_000, $"waiting-{Guid.NewGuid()}"));
        // It has its deposit lock and a pooled connection, and waits on the player's row: the one lock the side transaction holds.
        await app.BlockedOrDoneAsync(waiting, $"{side.ProcessID} = ANY(pg_blocking_pids(pid))");
        Assert.False(waiting.IsCompleted, "The deposit did not wait for the player's row.");
        var (answers, elapsed) = await TimedAsync([other.Client.SendAsync(Deposit(1_000, $"other-{Guid.NewGuid()}"))]);

        Assert.Equal(HttpStatusCode.OK, Assert.Single(answers).StatusCode);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"Another player's deposit waited {elapsed} behind the held one.");
        await lockRow.RollbackAsync();
        Assert.Equal(HttpStatusCode.OK, (await waiting).StatusCode);
        Assert.Equal(2_000, await BalanceAsync(held));
    }

    [Fact]
    public async Task More_players_depositing_at_once_than_the_connection_pool_holds_are_all_answered_promptly()
    {
        var players = await Task.WhenAll(Enumerable.Range(0, app.MaxPoolSize + 10).Select(_ => app.NewPlayerAsync()));

        var (answers, elapsed) = await TimedAsync(players.Select(p => p.Client.SendAsync(Deposit(1_000, $"crowd-{Guid.NewGuid()}"))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.True(elapsed < PromptAnswer, $"{players.Length} deposits took {elapsed}.");
        foreach (var player in players)
        {
            Assert.Equal(1_000, await BalanceAsync(player));
            Assert.Equal(1_000L, await DepositedAsync(player.Id));
        }
    }

    [Fact]
    public async Task A_self_excluded_player_cannot_deposit()
    {
        var player = await app.NewPlayerAsync();
        (await player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "6-months" })).EnsureSuccessStatusCode();

        var response = await player.Client.SendAsync(Deposit(1_000, $"excluded-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(Problems + "self-excluded", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(0, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_player_without_an_accepted_identity_document_cannot_deposit()
    {
        var player = await app.NewPlayerAsync(country: "PT");

        var response = await player.Client.SendAsync(Deposit(1_000, $"tier0-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(Problems + "kyc-tier-too-low", (await response.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(0, await BalanceAsync(player));
    }

    [Fact]
    public async Task An_anonymous_caller_cannot_deposit()
    {
        using var anonymous = app.CreateClient();

        var response = await anonymous.SendAsync(Deposit(1_000, $"anonymous-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    /// <summary>Well under Npgsql's 15-second wait for a pooled connection, which a starved pool runs into.</summary>
    private static readonly TimeSpan PromptAnswer = TimeSpan.FromSeconds(10);

    private static async Task<(HttpResponseMessage[] Answers, TimeSpan Elapsed)> TimedAsync(IEnumerable<Task<HttpResponseMessage>> requests)
    {
        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(requests);
        return (answers, clock.Elapsed);
    }

    private async Task<long> DepositedAsync(Guid userId) =>
        await app.ScalarAsync<long>("SELECT coalesce(sum(amount_minor), 0)::bigint FROM rg_deposits WHERE user_id = $1", userId);

    /// <summary>
    /// The player's next deposit record fails, as a lost connection or a crash between the credit and the record would:
    /// a trigger that raises once (a sequence counts the attempts, and its count survives the rollback). Dropped on dispose.
    /// </summary>
    private Task<InjectedFault> FailNextDepositRecordAsync(Guid userId) =>
        app.FailWritesAsync("INSERT", "rg_deposits", $"NEW.user_id = '{userId}'", "The deposit record failed (test)", times: 1);
}

/// <summary>Outside local mode (the setting off) the endpoint does not exist at all.</summary>
public sealed class WalletSandboxDepositOffTests(WalletSandboxDepositOffTests.App app) : IClassFixture<WalletSandboxDepositOffTests.App>
{
    public sealed class App : AccountsTestApp
    {
        protected override IEnumerable<KeyValuePair<string, string>> Settings() =>
            [.. base.Settings(), new(WalletApi.SandboxDepositsSetting, "false")];
    }

    [Fact]
    public async Task Without_the_setting_there_is_no_sandbox_deposit()
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PostAsJsonAsync("/api/users/me/wallet/sandbox-deposit", new { amountMinor = 1_000 });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
