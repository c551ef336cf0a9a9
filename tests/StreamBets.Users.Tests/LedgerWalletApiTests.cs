using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Testing;
using StreamBets.Users.Apis;
using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

public sealed class LedgerWalletApiTests(LedgerTestHost host) : IClassFixture<LedgerTestHost>
{
    private static readonly string AdminToken = LedgerTestHost.Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin);

    [Fact]
    public async Task A_player_sees_their_own_balance_and_history_after_a_sandbox_credit()
    {
        var player = Guid.NewGuid();
        await CreditAsync(player, 2_500, "first");
        await CreditAsync(player, 500, "second");
        using var client = host.Client(LedgerTestHost.Token(player));

        var wallet = await client.GetFromJsonAsync<WalletBalanceResponse>("/api/users/me/wallet");
        var firstPage = await client.GetFromJsonAsync<WalletHistoryResponse>("/api/users/me/wallet/history?limit=1");
        var secondPage = await client.GetFromJsonAsync<WalletHistoryResponse>($"/api/users/me/wallet/history?limit=1&cursor={firstPage!.NextCursor}");

        Assert.Equal(new WalletBalanceResponse(player, 3_000), wallet);
        Assert.Equal((500L, 3_000L, "sandbox-credit"), (firstPage.Items[0].AmountMinor, firstPage.Items[0].BalanceAfterMinor, firstPage.Items[0].Reason));
        Assert.Equal(2_500, Assert.Single(secondPage!.Items).AmountMinor);
        Assert.Null(secondPage.NextCursor);
    }

    [Fact]
    public async Task Stakes_payouts_and_refunds_in_the_history_name_their_pool_and_other_lines_do_not()
    {
        var (player, pool, other) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var (wallet, escrow, otherEscrow) = (LedgerAccountId.ForUser(player), LedgerAccountId.ForPoolEscrow(pool), LedgerAccountId.ForPoolEscrow(other));
        await CreditAsync(player, 5_000, $"history-pools-{player}");
        await host.Ledger.TransferBatchAsync(
        [
            new TransferRequest(Guid.NewGuid().ToString(), "bet-stake", [TransferLeg.Between(wallet, escrow, 1_000)]),
            new TransferRequest(Guid.NewGuid().ToString(), "bet-stake", [TransferLeg.Between(wallet, otherEscrow, 400)]),
            // A settlement of several legs: the player's line still names the pool it came from.
            new TransferRequest(Guid.NewGuid().ToString(), "payout", [TransferLeg.Between(escrow, wallet, 900), TransferLeg.Between(escrow, LedgerAccountId.HouseRake, 100)]),
            new TransferRequest(Guid.NewGuid().ToString(), "refund", [TransferLeg.Between(otherEscrow, wallet, 400)]),
        ]);
        using var client = host.Client(LedgerTestHost.Token(player));

        var history = await client.GetFromJsonAsync<WalletHistoryResponse>("/api/users/me/wallet/history");

        Assert.Equal(
            [("refund", 400L, (Guid?)other), ("payout", 900L, pool), ("bet-stake", -400L, other), ("bet-stake", -1_000L, pool), ("sandbox-credit", 5_000L, null)],
            history!.Items.Select(i => (i.Reason, i.AmountMinor, i.PoolId)));
    }

    [Fact]
    public async Task A_player_token_only_ever_reveals_that_players_own_wallet()
    {
        var (alice, bob) = (Guid.NewGuid(), Guid.NewGuid());
        await CreditAsync(bob, 9_000, "bob");
        using var asAlice = host.Client(LedgerTestHost.Token(alice));

        var wallet = await asAlice.GetFromJsonAsync<WalletBalanceResponse>("/api/users/me/wallet");
        var history = await asAlice.GetFromJsonAsync<WalletHistoryResponse>("/api/users/me/wallet/history");
        var byRoute = await asAlice.GetAsync($"/api/users/{bob}/wallet");
        var byQuery = await asAlice.GetFromJsonAsync<WalletBalanceResponse>($"/api/users/me/wallet?userId={bob}");

        Assert.Equal(new WalletBalanceResponse(alice, 0), wallet);
        Assert.Empty(history!.Items);
        Assert.Equal(HttpStatusCode.NotFound, byRoute.StatusCode);
        Assert.Equal(alice, byQuery!.UserId);
    }

    [Fact]
    public async Task An_admin_reads_any_players_wallet_and_history_for_support_and_a_player_may_not()
    {
        var (player, other) = (Guid.NewGuid(), Guid.NewGuid());
        await CreditAsync(player, 1_200, "support-1");
        await CreditAsync(player, 300, "support-2");
        using var asAdmin = host.Client(AdminToken);
        using var asOther = host.Client(LedgerTestHost.Token(other));

        var wallet = await asAdmin.GetFromJsonAsync<WalletBalanceResponse>($"/api/users/admin/wallets/{player}");
        var history = await asAdmin.GetFromJsonAsync<WalletHistoryResponse>($"/api/users/admin/wallets/{player}/history?limit=1");
        var rest = await asAdmin.GetFromJsonAsync<WalletHistoryResponse>($"/api/users/admin/wallets/{player}/history?cursor={history!.NextCursor}");
        var badQuery = await asAdmin.GetAsync($"/api/users/admin/wallets/{player}/history?limit=0");

        Assert.Equal(new WalletBalanceResponse(player, 1_500), wallet);
        Assert.Equal([300L], history.Items.Select(i => i.AmountMinor));
        Assert.Equal([1_200L], rest!.Items.Select(i => i.AmountMinor));
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await asOther.GetAsync($"/api/users/admin/wallets/{player}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await asOther.GetAsync($"/api/users/admin/wallets/{player}/history")).StatusCode);
        // The nil id names no wallet: a problem naming it, not the ledger's refusal as a 500.
        foreach (var path in new[] { $"/api/users/admin/wallets/{Guid.Empty}", $"/api/users/admin/wallets/{Guid.Empty}/history" })
        {
            using var nil = await asAdmin.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, nil.StatusCode);
            Assert.Contains("userId", (await nil.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ValidationProblemDetails>())!.Errors.Keys);
        }
    }

    [Fact]
    public async Task A_player_cannot_sandbox_credit_even_their_own_wallet()
    {
        var player = Guid.NewGuid();
        var before = await host.SnapshotAsync();
        using var client = host.Client(LedgerTestHost.Token(player));

        var response = await client.SendAsync(CreditRequest(player, 1_000, "sneaky"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before.TransferCount, (await host.SnapshotAsync()).TransferCount);
    }

    public static TheoryData<string, string?> RejectedTokens => new()
    {
        { "none", null },
        { "expired", LedgerTestHost.Token(Guid.NewGuid(), expires: DateTime.UtcNow.AddMinutes(-5)) },
        { "tampered", LedgerTestHost.Tampered(LedgerTestHost.Token(Guid.NewGuid()), Guid.NewGuid()) },
        { "signed with another key", TestTokens.New().Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Player) },
        { "HS256 keyed with the public key", LedgerTestHost.SignedWithThePublicKeyAsHmacSecret(Guid.NewGuid()) },
        { "tampered admin", LedgerTestHost.Tampered(AdminToken, Guid.NewGuid()) },
    };

    [Theory]
    [MemberData(nameof(RejectedTokens))]
    public async Task A_missing_expired_or_forged_token_gets_401_everywhere(string kind, string? token)
    {
        using var client = host.Client(token);

        var wallet = await client.GetAsync("/api/users/me/wallet");
        var history = await client.GetAsync("/api/users/me/wallet/history");
        var credit = await client.SendAsync(CreditRequest(Guid.NewGuid(), 1_000, $"forged-{kind}"));

        Assert.All([wallet, history, credit], r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
    }

    [Fact]
    public async Task Replaying_a_sandbox_credit_returns_the_first_result_and_credits_once()
    {
        var player = await host.AddUserAsync(Guid.NewGuid());
        var key = $"replay-{Guid.NewGuid()}";
        using var client = host.Client(AdminToken);

        var first = await client.SendAsync(CreditRequest(player, 1_000, key));
        var replay = await client.SendAsync(CreditRequest(player, 1_000, key));
        var otherAmount = await client.SendAsync(CreditRequest(player, 2_000, key));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.False(first.Headers.Contains(WalletApi.ReplayedHeader));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues(WalletApi.ReplayedHeader)));
        Assert.Equal(HttpStatusCode.Conflict, otherAmount.StatusCode);
        var problem = await otherAmount.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal(LedgerErrors.ProblemType(LedgerErrors.IdempotencyKeyReused), problem!.Type);
        var snapshot = await host.SnapshotAsync();
        Assert.Equal(1_000, snapshot.Balance(LedgerAccountId.ForUser(player)));
        snapshot.AssertConsistent();
    }

    [Fact]
    public async Task A_sandbox_credit_publishes_WalletsChanged_through_the_outbox_to_the_bus()
    {
        var player = Guid.NewGuid();

        var credit = await CreditAsync(player, 700, $"event-{Guid.NewGuid()}");

        // The outbox row is written in the ledger's transaction; the relay then appends it to the wallet topic.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(host.RedisConnectionString);
        var streams = Enumerable.Range(0, 16).Select(p => new RedisKey($"{host.BusPrefix}:{IntegrationTopics.Wallet}:{p}")).ToArray();
        string? published = null;
        for (var attempt = 0; attempt < 100 && published is null; attempt++)
        {
            foreach (var stream in streams)
            {
                published ??= (await redis.GetDatabase().StreamRangeAsync(stream))
                    .Select(entry => (string?)entry["ce"])
                    .FirstOrDefault(ce => ce is not null && ce.Contains(credit.TransferId.ToString(), StringComparison.Ordinal));
            }
            await Task.Delay(published is null ? 100 : 0);
        }

        Assert.NotNull(published);
        using var cloudEvent = JsonDocument.Parse(published);
        Assert.Equal("streambets.wallet.wallets-changed.v1", cloudEvent.RootElement.GetProperty("type").GetString());
        var data = Assert.Single(cloudEvent.RootElement.GetProperty("data").GetProperty("changes").EnumerateArray());
        Assert.Equal(player, data.GetProperty("userId").GetGuid());
        Assert.Equal(700, data.GetProperty("deltaMinor").GetInt64());
        Assert.Equal(700, data.GetProperty("balanceMinor").GetInt64());
        Assert.Equal(WalletApi.SandboxCreditReason, data.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_sandbox_credit_to_an_id_no_user_has_is_404_user_not_found_and_moves_nothing()
    {
        var nobody = Guid.NewGuid();
        var before = await host.SnapshotAsync();
        using var client = host.Client(AdminToken);

        var response = await client.SendAsync(CreditRequest(nobody, 1_000, $"typo-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal("https://streambets.dev/problems/user-not-found", problem!.Type);
        var after = await host.SnapshotAsync();
        Assert.False(after.Balances.ContainsKey(LedgerAccountId.ForUser(nobody).Code));
        Assert.Equal(before.Balance(LedgerAccountId.PspClearing), after.Balance(LedgerAccountId.PspClearing));
        Assert.Equal(before.TransferCount, after.TransferCount);
    }

    [Fact]
    public async Task A_sandbox_credit_with_the_idempotency_key_header_sent_twice_is_refused_and_moves_nothing()
    {
        var player = await host.AddUserAsync(Guid.NewGuid());
        var key = $"twice-{Guid.NewGuid()}";
        using var client = host.Client(AdminToken);
        using var twice = CreditRequest(player, 1_000, key);
        twice.Headers.Add(WalletApi.IdempotencyKeyHeader, key);

        var response = await client.SendAsync(twice);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ValidationProblemDetails>();
        Assert.Equal("https://streambets.dev/problems/invalid-request", problem!.Type);
        Assert.Equal(["Send one Idempotency-Key header per request, not 2."], problem.Errors[WalletApi.IdempotencyKeyHeader]);
        Assert.Equal(0, (await host.SnapshotAsync()).Balance(LedgerAccountId.ForUser(player)));
    }

    public static TheoryData<string, string, string?, string> BadCredits => new()
    {
        { "zero amount", Guid.NewGuid().ToString(), "key-zero", """{"amountMinor":0}""" },
        { "negative amount", Guid.NewGuid().ToString(), "key-negative", """{"amountMinor":-100}""" },
        { "amount beyond 64 bits", Guid.NewGuid().ToString(), "key-overflow", """{"amountMinor":99999999999999999999}""" },
        { "amount above the per-transfer ceiling", Guid.NewGuid().ToString(), "key-ceiling", $$"""{"amountMinor":{{LedgerTransfer.MaxLegAmountMinor + 1}}}""" },
        { "fractional amount", Guid.NewGuid().ToString(), "key-fraction", """{"amountMinor":10.5}""" },
        { "malformed JSON", Guid.NewGuid().ToString(), "key-json", """{"amountMinor":""" },
        { "malformed user id", "not-a-user", "key-user", """{"amountMinor":100}""" },
        { "empty user id", Guid.Empty.ToString(), "key-empty-user", """{"amountMinor":100}""" },
        { "missing idempotency key", Guid.NewGuid().ToString(), null, """{"amountMinor":100}""" },
        { "overlong idempotency key", Guid.NewGuid().ToString(), new string('k', WalletApi.MaxIdempotencyKeyLength + 1), """{"amountMinor":100}""" },
    };

    [Theory]
    [MemberData(nameof(BadCredits))]
    public async Task A_bad_sandbox_credit_gets_a_400_problem_and_writes_nothing(string why, string userId, string? key, string body)
    {
        var before = await host.SnapshotAsync();
        using var client = host.Client(AdminToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/users/admin/wallets/{userId}/sandbox-credit")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Add(WalletApi.IdempotencyKeyHeader, key);
        }

        var response = await client.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{why}: {response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var after = await host.SnapshotAsync();
        // WalletsChanged is only ever written together with a transfer, so no new transfer also means no event.
        Assert.Equal((before.TransferCount, before.Balances.Count), (after.TransferCount, after.Balances.Count));
    }

    [Theory]
    [InlineData("cursor=abc")]
    [InlineData("cursor=-5")]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=ten")]
    public async Task A_bad_history_query_gets_a_400_problem(string query)
    {
        using var client = host.Client(LedgerTestHost.Token(Guid.NewGuid()));

        var response = await client.GetAsync($"/api/users/me/wallet/history?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>Credits the user, whom it registers first if need be: the credit funds only users that exist.</summary>
    private async Task<SandboxCreditResponse> CreditAsync(Guid userId, long amount, string key)
    {
        await host.AddUserAsync(userId);
        using var client = host.Client(AdminToken);
        var response = await client.SendAsync(CreditRequest(userId, amount, key));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<SandboxCreditResponse>())!;
    }

    private static HttpRequestMessage CreditRequest(Guid userId, long amount, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/users/admin/wallets/{userId}/sandbox-credit")
        {
            Content = JsonContent.Create(new SandboxCreditRequest(amount)),
        };
        request.Headers.Add(WalletApi.IdempotencyKeyHeader, key);
        return request;
    }
}
