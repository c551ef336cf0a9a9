using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using StreamBets.Testing;
using static StreamBets.Users.Tests.SandboxDepositRequests;

namespace StreamBets.Users.Tests;

/// <summary>
/// A sandbox deposit is judged by a self-exclusion or a lowered limit being stored as it arrives (it waits for it, and is
/// never credited after the player was told they are excluded), and its refusal names a deposit allowance only when a
/// deposit limit refused it.
/// </summary>
public sealed class WalletSandboxDepositRefusalTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private const string Problems = "https://streambets.dev/problems/";

    [Fact]
    public async Task A_deposit_sent_while_a_self_exclusion_is_being_stored_is_refused_once_it_is()
    {
        var player = await app.NewPlayerAsync();

        var (exclusion, deposit) = await DepositWhileAWriteIsInFlightAsync(player, "rg_self_exclusions",
            () => player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "6-months" }), 1_000);

        Assert.Equal(HttpStatusCode.OK, exclusion.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, deposit.StatusCode);
        Assert.Equal(Problems + "self-excluded", (await deposit.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(0, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_deposit_sent_while_a_lower_deposit_limit_is_being_stored_is_judged_by_it()
    {
        var player = await app.NewPlayerAsync();
        (await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = 10_000 })).EnsureSuccessStatusCode();

        var (lowering, deposit) = await DepositWhileAWriteIsInFlightAsync(player, "rg_limits",
            () => player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = 2_000 }), 3_000);

        Assert.Equal(HttpStatusCode.OK, lowering.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, deposit.StatusCode);
        var problem = (await deposit.Content.ReadFromJsonAsync<ProblemDetails>())!;
        Assert.Equal(Problems + "deposit-limit-exceeded", problem.Type);
        Assert.Equal(2_000L, ((JsonElement)problem.Extensions["depositAllowanceMinor"]!).GetInt64());
        Assert.Equal(0, await BalanceAsync(player));
    }

    [Fact]
    public async Task A_self_excluded_player_with_a_deposit_limit_is_refused_without_a_deposit_allowance()
    {
        var player = await app.NewPlayerAsync();
        (await player.Client.PutAsJsonAsync("/api/users/me/limits", new { deposit24hMinor = 5_000 })).EnsureSuccessStatusCode();
        (await player.Client.PostAsJsonAsync("/api/users/me/self-exclusion", new { period = "6-months" })).EnsureSuccessStatusCode();

        var response = await player.Client.SendAsync(Deposit(1_000, $"excluded-{Guid.NewGuid()}"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ProblemDetails>())!;
        Assert.Equal(Problems + "self-excluded", problem.Type);
        Assert.DoesNotContain("depositAllowanceMinor", problem.Extensions.Keys);
    }

    /// <summary>
    /// Starts <paramref name="change"/> (a self-exclusion or limit change, which locks the player's row first) and holds
    /// it just before it writes to <paramref name="table"/>; sends the deposit and lets the change commit once the
    /// deposit waits on the player's row. Answers both responses.
    /// </summary>
    private async Task<(HttpResponseMessage Change, HttpResponseMessage Deposit)> DepositWhileAWriteIsInFlightAsync(
        TestPlayer player, string table, Func<Task<HttpResponseMessage>> change, long amountMinor)
    {
        Task<HttpResponseMessage> changing;
        Task<HttpResponseMessage> depositing;
        await using (var pause = await app.PauseWritesAsync(table, $"NEW.user_id = '{player.Id}'", "INSERT"))
        {
            changing = change();
            await pause.HeldAsync(changing);
            Assert.False(changing.IsCompleted, "The change was not held before its write.");

            depositing = player.Client.SendAsync(Deposit(amountMinor, $"in-flight-{Guid.NewGuid()}"));
            // On a row lock (the change's transaction), not on the pause's advisory lock as the change is.
            await app.BlockedOrDoneAsync(depositing, "wait_event IN ('tuple', 'transactionid')");
            Assert.False(depositing.IsCompleted, "The deposit did not wait for the change holding the player's row.");

            await pause.ReleaseAsync();
            await changing;
        }
        return (await changing, await depositing);
    }
}
