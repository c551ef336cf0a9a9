using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Tests;

public sealed class AuthLockoutTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    [Fact]
    public async Task Five_failed_logins_lock_the_account_even_against_the_right_password_until_the_lock_ends()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        var answers = await WrongPasswordsAsync(client, player.Email, 5);
        var withRightPassword = await LoginAsync(client, player.Email, player.Password);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 4), HttpStatusCode.Locked], answers);
        Assert.Equal(HttpStatusCode.Locked, withRightPassword.StatusCode);
        Assert.Equal("https://streambets.dev/problems/account-locked", (await withRightPassword.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);

        app.Clock.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, player.Email, player.Password)).StatusCode);
    }

    [Fact]
    public async Task Unknown_emails_lock_the_same_way_so_a_lockout_reveals_nothing()
    {
        using var client = app.CreateClient();
        var email = AccountsTestApp.NewEmail("nobody");

        for (var i = 0; i < 4; i++)
        {
            await LoginAsync(client, email, "wrong-password");
        }

        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, email, "wrong-password")).StatusCode);
    }

    [Fact]
    public async Task Failures_spread_beyond_the_window_do_not_lock()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, player.Email, "wrong-password")).StatusCode);
            app.Clock.Advance(TimeSpan.FromMinutes(4));
        }
    }

    [Fact]
    public async Task Failures_from_one_network_lock_the_email_there_while_its_owner_signs_in_from_another()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        var guesses = await WrongPasswordsAsync(client, player.Email, 5, _ => Guesser);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 4), HttpStatusCode.Locked], guesses);
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, player.Password, Guesser)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, player.Email, player.Password, Owner)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, player.Email, player.Password, OwnerIpv6)).StatusCode);
    }

    [Fact]
    public async Task Failures_spread_over_many_networks_lock_the_email_from_every_network_at_the_ceiling()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        // 49 guesses from 13 networks, none reaching its own limit of 5, then the 50th: the ceiling across networks.
        var guesses = await WrongPasswordsAsync(client, player.Email, 50, i => $"ip:192.0.2.{i / 4}");

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 49), HttpStatusCode.Locked], guesses);
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, player.Password, Owner)).StatusCode);
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, player.Password)).StatusCode);
        app.Clock.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, player.Email, player.Password, Owner)).StatusCode);
    }

    [Fact]
    public async Task Concurrent_failures_are_all_counted_for_their_network_and_for_the_email()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        // Nine guesses at once: five from one network lock it; four from another leave it one short of its limit.
        await Task.WhenAll([
            .. Enumerable.Range(0, 5).Select(_ => LoginAsync(client, player.Email, "wrong-password", Guesser)),
            .. Enumerable.Range(0, 4).Select(_ => LoginAsync(client, player.Email, "wrong-password", Owner))]);

        Assert.Equal(9, await app.ScalarAsync<int>("SELECT failures FROM login_failures WHERE email_key = lower($1) AND source = ''", player.Email));
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, player.Password, Guesser)).StatusCode);
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, "wrong-password", Owner)).StatusCode);
    }

    [Fact]
    public async Task Sign_ins_without_a_network_the_gateway_would_send_share_one_source_per_email()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        await WrongPasswordsAsync(client, player.Email, 4, i => $"ip:{new string('9', 200)}-{i}");

        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, "wrong-password")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, player.Email, player.Password, Owner)).StatusCode);
    }

    [Fact]
    public async Task A_successful_login_clears_its_networks_failures_but_not_the_emails_count_across_networks()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();
        await WrongPasswordsAsync(client, player.Email, 4, _ => Owner);

        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(client, player.Email, player.Password, Owner)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, player.Email, "wrong-password", Owner)).StatusCode);
        Assert.Equal(5, await app.ScalarAsync<int>("SELECT failures FROM login_failures WHERE email_key = lower($1) AND source = ''", player.Email));
    }

    [Fact]
    public async Task Failures_that_no_longer_count_are_forgotten_and_a_lock_is_kept_until_it_ends()
    {
        using var client = app.CreateClient();
        var (stale, locked) = (AccountsTestApp.NewEmail("nobody"), AccountsTestApp.NewEmail("nobody"));
        await LoginAsync(client, stale, "wrong-password");
        app.Clock.Advance(TimeSpan.FromMinutes(15)); // that failure's window is over: it would not count any more
        for (var i = 0; i < 5; i++)
        {
            await LoginAsync(client, locked, "wrong-password");
        }

        await app.Services.GetRequiredService<LoginThrottle>().ForgetSettledAsync(default);

        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM login_failures WHERE email_key = $1", stale));
        // The network's row (a sign-in without the gateway's header: source "unknown") and the email's across networks.
        Assert.Equal(2L, await app.ScalarAsync<long>("SELECT count(*) FROM login_failures WHERE email_key = $1", locked));
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, locked, "wrong-password")).StatusCode);
    }

    [Fact]
    public void The_lock_counts_failures_in_a_rolling_window()
    {
        var policy = new LockoutPolicy(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
        var start = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var failures = new LoginFailures(0, start, null);

        failures = failures.AfterFailure(start, policy).AfterFailure(start.AddMinutes(5), policy).AfterFailure(start.AddMinutes(10), policy);
        Assert.Equal(start.AddMinutes(25), failures.LockedUntil);

        var afterLock = failures.AfterFailure(start.AddMinutes(25), policy);
        Assert.Equal((1, (DateTimeOffset?)null), (afterLock.Count, afterLock.LockedUntil));
    }

    // Client networks as the gateway names them (docs/gateway.md).
    private const string Guesser = "ip:203.0.113.66";
    private const string Owner = "ip:198.51.100.20";
    private const string OwnerIpv6 = "ip:2001:db8:1:2::/64";

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string email, string password, string? network = null) =>
        AccountsTestApp.AttemptLoginAsync(client, email, password, network);

    /// <summary>Wrong passwords one after another, the i-th from network(i) (none by default); their answers in order.</summary>
    private static async Task<List<HttpStatusCode>> WrongPasswordsAsync(HttpClient client, string email, int count, Func<int, string?>? network = null)
    {
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            answers.Add((await LoginAsync(client, email, "wrong-password", network?.Invoke(i))).StatusCode);
        }
        return answers;
    }
}
