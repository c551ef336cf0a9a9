using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StreamBets.Testing;
using StreamBets.Users.Kyc;

namespace StreamBets.Users.Tests;

/// <summary>
/// Starting a check bills the provider, so a player's starts reach it at most once per open check. The provider here is the
/// sandbox behind <see cref="CountingKycProvider"/>, which counts calls and can hold one until the test lets it go.
/// </summary>
public sealed class KycCheckStartTests(KycCheckStartTests.App app) : IClassFixture<KycCheckStartTests.App>
{
    private const string Checks = "/api/users/me/kyc/checks";

    [Fact]
    public async Task Two_starts_sent_at_once_reach_the_provider_once_and_the_second_is_told_a_check_is_in_progress()
    {
        var player = await app.NewPlayerAsync();
        var held = app.Provider.HoldNext();

        var first = player.Client.PostAsJsonAsync(Checks, new { firstName = "Ana", lastName = "Silva" });
        await held.Entered.Task;
        var second = await player.Client.PostAsJsonAsync(Checks, new { firstName = "Ana", lastName = "Silva" });
        held.Released.SetResult();

        Assert.Equal(HttpStatusCode.Accepted, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("https://streambets.dev/problems/kyc-check-in-progress", (await second.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(1, app.Provider.CallsFor(player.Id));
        Assert.Equal("pending", (await KycTests.StatusAsync(player)).LatestCheck!.Status);
    }

    [Fact]
    public async Task A_check_the_provider_started_is_recorded_even_when_the_player_has_gone_meanwhile()
    {
        var player = await app.NewPlayerAsync();
        var held = app.Provider.HoldNext();
        using var leaving = new CancellationTokenSource();

        var start = player.Client.PostAsJsonAsync(Checks, new { firstName = "Ana", lastName = "Silva" }, leaving.Token);
        await held.Entered.Task;
        leaving.Cancel(); // the browser closed while the provider was starting (and billing) the check
        held.Released.SetResult();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);

        Assert.True(await Eventually.HoldsAsync(async () =>
            await app.ScalarAsync<long>("SELECT count(*) FROM kyc_checks WHERE user_id = $1 AND provider_check_id IS NOT NULL", player.Id) == 1,
            TimeSpan.FromSeconds(10)));
        Assert.Equal("pending", (await KycTests.StatusAsync(player)).LatestCheck!.Status);
    }

    [Fact]
    public async Task A_start_the_provider_fails_leaves_no_claim_and_the_next_start_works()
    {
        var player = await app.NewPlayerAsync();
        app.Provider.FailNextFor(player.Id);

        var failed = await player.Client.PostAsJsonAsync(Checks, new { firstName = "Ana", lastName = "Silva" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM kyc_checks WHERE user_id = $1", player.Id));
        Assert.Null((await KycTests.StatusAsync(player)).LatestCheck);
        await KycTests.StartCheckAsync(player);
    }

    [Fact]
    public async Task A_claim_left_by_a_start_that_died_blocks_only_until_it_is_stale()
    {
        var fresh = await app.NewPlayerAsync();
        var stale = await app.NewPlayerAsync();
        await LeaveClaimAsync(fresh, app.Clock.GetUtcNow());
        await LeaveClaimAsync(stale, app.Clock.GetUtcNow() - KycVerification.ClaimLifetime - TimeSpan.FromSeconds(1));

        var blocked = await fresh.Client.PostAsJsonAsync(Checks, new { firstName = "Ana", lastName = "Silva" });
        var check = await KycTests.StartCheckAsync(stale);

        Assert.Equal(HttpStatusCode.Conflict, blocked.StatusCode);
        Assert.Equal(0, app.Provider.CallsFor(fresh.Id));
        Assert.Equal(check.CheckId, (await KycTests.StatusAsync(stale)).LatestCheck!.CheckId);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM kyc_checks WHERE user_id = $1", stale.Id));
    }

    /// <summary>What a start that died between its claim and the provider's answer leaves behind.</summary>
    private Task LeaveClaimAsync(TestPlayer player, DateTimeOffset claimedAt) => app.ScalarAsync<object>(
        "INSERT INTO kyc_checks (id, user_id, provider, provider_check_id, status, created_at) VALUES (gen_random_uuid(), $1, 'sandbox', NULL, 'pending', $2)",
        player.Id, claimedAt);

    public sealed class App : AccountsTestApp
    {
        public CountingKycProvider Provider { get; } = new();

        protected override void ConfigureServices(IServiceCollection services)
        {
            services.RemoveAll<IKycProvider>();
            services.AddSingleton<IKycProvider>(sp => Provider.Over(sp.GetRequiredService<SandboxKycProvider>()));
        }
    }

    /// <summary>The sandbox provider, counting the checks started per player; it can hold the next call, or fail a player's next.</summary>
    public sealed class CountingKycProvider : IKycProvider
    {
        private readonly ConcurrentDictionary<Guid, int> _calls = new();
        private readonly ConcurrentDictionary<Guid, bool> _failNext = new();
        private SandboxKycProvider _sandbox = null!;
        private Hold? _hold;

        public string Name => _sandbox.Name;
        public bool IsConfigured => _sandbox.IsConfigured;
        public string WebhookToken => _sandbox.WebhookToken;

        public CountingKycProvider Over(SandboxKycProvider sandbox)
        {
            _sandbox = sandbox;
            return this;
        }

        public int CallsFor(Guid userId) => _calls.GetValueOrDefault(userId);

        public Hold HoldNext() => _hold = new Hold();

        public void FailNextFor(Guid userId) => _failNext[userId] = true;

        public async Task<string> StartCheckAsync(KycApplicant applicant, CancellationToken cancellationToken)
        {
            _calls.AddOrUpdate(applicant.UserId, 1, (_, calls) => calls + 1);
            if (_failNext.TryRemove(applicant.UserId, out _))
            {
                throw new HttpRequestException("The provider did not answer.");
            }
            // Only the next call is held: a second one passes straight through, so a start that should not have called fails its test instead of hanging it.
            if (Interlocked.Exchange(ref _hold, null) is { } hold)
            {
                hold.Entered.TrySetResult();
                await hold.Released.Task;
            }
            return await _sandbox.StartCheckAsync(applicant, cancellationToken);
        }

        public Task<KycCheckResult?> GetCheckResultAsync(string providerCheckId, CancellationToken cancellationToken) =>
            _sandbox.GetCheckResultAsync(providerCheckId, cancellationToken);
    }

    /// <summary>A held provider call: Entered when it arrives, and it goes on when Released.</summary>
    public sealed class Hold
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
