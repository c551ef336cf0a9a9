using Npgsql;
using StreamBets.AppHost.Testing;
using StreamBets.Testing;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace StreamBets.AppHost.Tests;

/// <summary>
/// The money loop through the running app, as players and a streamer use it: everything goes through the gateway
/// (REST), so Users, Pools, the Bet Engine and Settlement talk over real gRPC and the event bus between processes.
/// </summary>
[Collection(LocalModeAppCollection.Name)]
public sealed class MoneyLoopTests(LocalModeAppFixture fixture)
{
    private const long Funding = 10_000;

    [Fact]
    public async Task Three_players_bet_the_streamer_resolves_and_every_balance_is_exact()
    {
        using var gateway = fixture.App.CreateHttpClient("gateway", "http");
        var admin = await LoginAsync(gateway, "admin@streambets.local", "local-admin-password");
        var ana = await RegisterPlayerAsync(gateway, admin, "ana");
        var bia = await RegisterPlayerAsync(gateway, admin, "bia");
        var caio = await RegisterPlayerAsync(gateway, admin, "caio");
        var channelId = $"moneyloop{Guid.NewGuid():N}"[..24];
        var streamer = await RegisterStreamerAsync(gateway, admin, channelId);

        var pool = await SendAsync(gateway, HttpMethod.Post, "/api/pools", streamer.Token, new
        {
            channel = new { provider = "twitch", channelId },
            title = "Who takes the final round?",
            outcomes = new[] { "Blue", "Red" },
            bettingWindowSeconds = 300,
            minStakeMinor = 100,
            maxStakeMinor = 50_000,
        });
        var poolId = pool.GetProperty("id").GetGuid();
        var blue = pool.GetProperty("outcomes")[0].GetProperty("id").GetGuid();
        var red = pool.GetProperty("outcomes")[1].GetProperty("id").GetGuid();
        // Pools' default rake, 5 %: the figures below are worked out by hand from it.
        Assert.Equal(500, pool.GetProperty("rakeBasisPoints").GetInt32());

        var anaBet = await BetAsync(gateway, ana, poolId, blue, 3_000);
        var biaBet = await BetAsync(gateway, bia, poolId, blue, 2_000);
        var caioBet = await BetAsync(gateway, caio, poolId, red, 5_001);

        // The ledger itself, behind the app: the house's accounts before this pool pays them.
        await using var usersDb = NpgsqlDataSource.Create(await fixture.DatabaseConnectionStringAsync("usersdb"));
        var escrow = $"escrow:pool:{poolId}";
        var before = await LedgerTotals.BalancesAsync(usersDb, ["house:rake", "house:breakage"]);

        await SendAsync(gateway, HttpMethod.Post, $"/api/pools/{poolId}/lock", streamer.Token, new { });
        await SendAsync(gateway, HttpMethod.Post, $"/api/pools/{poolId}/resolve", streamer.Token, new { winningOutcomeIds = new[] { blue } });

        // By hand, per ARCHITECTURE.md: T = 10,001; rake = floor(10,001 * 5 %) = 500; net = 9,501 for the 5,000 on Blue;
        // Ana floor(3,000 * 9,501 / 5,000) = 5,700, Bia floor(2,000 * 9,501 / 5,000) = 3,800; breakage 9,501 - 9,500 = 1.
        await AssertEventuallyAsync(gateway, ana, 12_700, "won", 5_700);
        await AssertEventuallyAsync(gateway, bia, 11_800, "won", 3_800);
        await AssertEventuallyAsync(gateway, caio, 4_999, "lost", 0);

        // Settled once: the settlement's own account of it, then the balances again (a second payout would land late).
        var settled = await EventuallySettledAsync(gateway, streamer, poolId);
        Assert.Equal((9_500L, 500L, 1L, 2, 0L), (settled.GetProperty("paidMinor").GetInt64(), settled.GetProperty("rakeMinor").GetInt64(),
            settled.GetProperty("breakageMinor").GetInt64(), settled.GetProperty("winningBets").GetInt32(), settled.GetProperty("escrowResidueMinor").GetInt64()));
        Assert.Equal((12_700L, 11_800L, 4_999L), (await BalanceAsync(gateway, ana), await BalanceAsync(gateway, bia), await BalanceAsync(gateway, caio)));

        // The ledger agrees, read from usersdb rather than from Settlement's report: by the hand figures above the house
        // gained rake 500 and breakage 1, the escrow (10,001 in) paid 9,500 + 500 + 1 and is empty, the ledger is whole,
        // and each winning bet got one payout transfer to its own wallet, Caio's losing bet none. Checked again after a
        // pause, because a late duplicate payout (a redelivered event, a second run) would land after "settled".
        var after = await LedgerTotals.BalancesAsync(usersDb, ["house:rake", "house:breakage", escrow]);
        Assert.Equal((500L, 1L, 0L), (after["house:rake"] - before["house:rake"], after["house:breakage"] - before["house:breakage"], after[escrow]));
        await AssertPaidOnceAsync(usersDb, poolId, [(anaBet, ana, 5_700), (biaBet, bia, 3_800)], caioBet);
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.Equal(after, await LedgerTotals.BalancesAsync(usersDb, ["house:rake", "house:breakage", escrow]));
        await AssertPaidOnceAsync(usersDb, poolId, [(anaBet, ana, 5_700), (biaBet, bia, 3_800)], caioBet);
        Assert.Equal((12_700L, 11_800L, 4_999L), (await BalanceAsync(gateway, ana), await BalanceAsync(gateway, bia), await BalanceAsync(gateway, caio)));
        Assert.Equal((0L, 0L), await LedgerTotals.ReadAsync(usersDb));
        Assert.Empty(await LedgerTotals.DriftedAccountsAsync(usersDb));
    }

    /// <summary>
    /// Each winning bet has exactly one payout transfer in the ledger (reference <c>bet:{betId}</c>) crediting its
    /// owner's wallet with its payout, the losing bet none, and no other payout left the pool's escrow or reached a
    /// winner's wallet.
    /// </summary>
    private static async Task AssertPaidOnceAsync(NpgsqlDataSource usersDb, Guid poolId, (Guid BetId, Caller Owner, long PayoutMinor)[] winners, Guid loser)
    {
        await using var command = usersDb.CreateCommand("""
            SELECT t.reference, a.code, e.amount
            FROM ledger_transfers t
            JOIN ledger_entries e ON e.transfer_seq = t.seq AND e.amount > 0
            JOIN ledger_accounts a ON a.id = e.account_id
            WHERE t.reason = 'payout' AND (a.code = ANY($2) OR t.reference = ANY($3) OR t.seq IN (
                SELECT pe.transfer_seq FROM ledger_entries pe JOIN ledger_accounts pa ON pa.id = pe.account_id WHERE pa.code = $1))
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"escrow:pool:{poolId}" });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. winners.Select(w => $"user:{w.Owner.Id}")] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. winners.Select(w => $"bet:{w.BetId}"), $"bet:{loser}"] });
        var payouts = new List<(string Reference, string Account, long Amount)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                payouts.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
            }
        }
        var expected = winners.Select(w => ($"bet:{w.BetId}", $"user:{w.Owner.Id}", w.PayoutMinor)).OrderBy(p => p.Item1, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, payouts.OrderBy(p => p.Reference, StringComparer.Ordinal).ToList());
        Assert.DoesNotContain(payouts, p => p.Reference == $"bet:{loser}");
    }

    private static async Task<JsonElement> EventuallySettledAsync(HttpClient gateway, Caller streamer, Guid poolId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/settlements/{poolId}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", streamer.Token);
            using var response = await gateway.SendAsync(request);
            if (response.IsSuccessStatusCode)
            {
                var settlement = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (settlement.GetProperty("status").GetString() == "settled")
                {
                    return settlement;
                }
            }
            Assert.True(DateTime.UtcNow < deadline, $"The settlement of {poolId} did not finish: {(int)response.StatusCode}.");
            await Task.Delay(500);
        }
    }

    private static async Task<long> BalanceAsync(HttpClient gateway, Caller player) =>
        (await SendAsync(gateway, HttpMethod.Get, "/api/users/me/wallet", player.Token, body: null)).GetProperty("balanceMinor").GetInt64();

    [Fact]
    public async Task A_cancelled_pool_refunds_every_stake_exactly()
    {
        using var gateway = fixture.App.CreateHttpClient("gateway", "http");
        var admin = await LoginAsync(gateway, "admin@streambets.local", "local-admin-password");
        var duda = await RegisterPlayerAsync(gateway, admin, "duda");
        var enzo = await RegisterPlayerAsync(gateway, admin, "enzo");

        var pool = await SendAsync(gateway, HttpMethod.Post, "/api/pools", admin.Token, new
        {
            channel = new { provider = "kick", channelId = $"refunds{Guid.NewGuid():N}"[..24] },
            title = "Does the run finish under 2 hours?",
            outcomes = new[] { "Yes", "No", "Abandoned" },
            bettingWindowSeconds = 300,
            minStakeMinor = 100,
            maxStakeMinor = 50_000,
        });
        var poolId = pool.GetProperty("id").GetGuid();
        await BetAsync(gateway, duda, poolId, pool.GetProperty("outcomes")[0].GetProperty("id").GetGuid(), 4_321);
        await BetAsync(gateway, enzo, poolId, pool.GetProperty("outcomes")[2].GetProperty("id").GetGuid(), 777);

        await SendAsync(gateway, HttpMethod.Post, $"/api/pools/{poolId}/cancel", admin.Token, new { });

        await AssertEventuallyAsync(gateway, duda, Funding, "refunded", 4_321);
        await AssertEventuallyAsync(gateway, enzo, Funding, "refunded", 777);
    }

    private sealed record Caller(Guid Id, string Token, string Email);

    private static int _cpfSequence = Random.Shared.Next(100_000_000, 900_000_000);

    private static async Task<Caller> RegisterPlayerAsync(HttpClient gateway, Caller admin, string name)
    {
        var player = await RegisterAsync(gateway, name);
        await SendAsync(gateway, HttpMethod.Post, $"/api/users/admin/wallets/{player.Id}/sandbox-credit", admin.Token,
            new { amountMinor = Funding }, idempotencyKey: $"fund-{player.Id}");
        return player;
    }

    /// <summary>A streamer, with their Twitch channel linked to them by the admin (a streamer opens pools only on their own channels).</summary>
    private static async Task<Caller> RegisterStreamerAsync(HttpClient gateway, Caller admin, string channelId)
    {
        var streamer = await RegisterAsync(gateway, "streamer");
        await SendAsync(gateway, HttpMethod.Put, $"/api/users/admin/users/{streamer.Id}/role", admin.Token, new { role = "streamer" });
        await SendAsync(gateway, HttpMethod.Put, $"/api/pools/admin/channels/twitch/{channelId}", admin.Token, new { ownerId = streamer.Id });
        // The role travels in the token, so sign in again to carry it.
        return await LoginAsync(gateway, streamer.Email, Password);
    }

    private const string Password = "correct-horse-battery-staple";

    private static async Task<Caller> RegisterAsync(HttpClient gateway, string name)
    {
        var email = $"{name}.{Guid.NewGuid():N}@moneyloop.test";
        var cpf = CpfWithCheckDigits(Interlocked.Increment(ref _cpfSequence).ToString("D9", CultureInfo.InvariantCulture));
        await SendAsync(gateway, HttpMethod.Post, "/api/users/register", token: null, new
        {
            email,
            password = Password,
            displayName = name,
            dateOfBirth = "1994-05-17",
            country = "BR", // a valid CPF gives KYC tier 1 at once: enough to bet
            cpf,
        });
        return await LoginAsync(gateway, email, Password);
    }

    private static async Task<Caller> LoginAsync(HttpClient gateway, string email, string password)
    {
        var login = await SendAsync(gateway, HttpMethod.Post, "/api/users/login", token: null, new { email, password });
        var token = login.GetProperty("accessToken").GetString()!;
        var me = await SendAsync(gateway, HttpMethod.Get, "/api/users/me", token, body: null);
        return new Caller(me.GetProperty("id").GetGuid(), token, email);
    }

    private static async Task<Guid> BetAsync(HttpClient gateway, Caller player, Guid poolId, Guid outcomeId, long stakeMinor)
    {
        var bet = await SendAsync(gateway, HttpMethod.Post, "/api/bets", player.Token,
            new { poolId, outcomeId, stakeMinor }, idempotencyKey: $"bet-{poolId}-{player.Id}");
        Assert.Equal("accepted", bet.GetProperty("status").GetString());
        return bet.GetProperty("betId").GetGuid();
    }

    /// <summary>Settlement is asynchronous (PoolResolved travels over the bus): wait for the balance, then check the bet.</summary>
    private static async Task AssertEventuallyAsync(HttpClient gateway, Caller player, long expectedBalance, string expectedResult, long expectedPayout)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        long balance;
        while (true)
        {
            var wallet = await SendAsync(gateway, HttpMethod.Get, "/api/users/me/wallet", player.Token, body: null);
            balance = wallet.GetProperty("balanceMinor").GetInt64();
            if (balance == expectedBalance || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(500);
        }
        Assert.Equal(expectedBalance, balance);

        JsonElement bet;
        do
        {
            var mine = await SendAsync(gateway, HttpMethod.Get, "/api/bets/mine", player.Token, body: null);
            bet = mine.GetProperty("items")[0];
            if (bet.TryGetProperty("settledResult", out var result) && result.ValueKind == JsonValueKind.String)
            {
                break;
            }
            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(expectedResult, bet.GetProperty("settledResult").GetString());
        Assert.Equal(expectedPayout, bet.GetProperty("payoutMinor").GetInt64());
    }

    /// <summary>
    /// Sends JSON and answers the JSON reply; a 429 from the gateway's rate limit is waited out, and so is a 503 to a
    /// request with an Idempotency-Key, a few times, because that is the API's word for "nothing was decided, retry
    /// with the same key" (a freshly started service's first call can overrun a caller's deadline on a busy box).
    /// Anything else not 2xx fails with the problem's text.
    /// </summary>
    private static async Task<JsonElement> SendAsync(HttpClient gateway, HttpMethod method, string path, string? token, object? body, string? idempotencyKey = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            if (idempotencyKey is not null)
            {
                request.Headers.Add("Idempotency-Key", idempotencyKey);
            }
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }
            using var response = await gateway.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && idempotencyKey is not null && attempt < 5)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            Assert.True(response.IsSuccessStatusCode, $"{method} {path} answered {(int)response.StatusCode}: {text}");
            return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }
    }

    private static string CpfWithCheckDigits(string nineDigits)
    {
        var digits = nineDigits.Select(c => c - '0').ToList();
        for (var round = 0; round < 2; round++)
        {
            var sum = digits.Select((d, i) => d * (digits.Count + 1 - i)).Sum();
            var check = sum * 10 % 11 % 10;
            digits.Add(check);
        }
        return string.Concat(digits);
    }
}
