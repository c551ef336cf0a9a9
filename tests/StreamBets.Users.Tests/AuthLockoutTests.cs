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

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add((await LoginAsync(client, player.Email, "wrong-password")).StatusCode);
        }
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
    public async Task A_successful_login_clears_the_failures()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();
        for (var i = 0; i < 4; i++)
        {
            await LoginAsync(client, player.Email, "wrong-password");
        }

        await app.LoginAsync(player.Email, player.Password);

        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(client, player.Email, "wrong-password")).StatusCode);
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

        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM login_throttle WHERE email_key = $1", stale));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM login_throttle WHERE email_key = $1", locked));
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

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string email, string password) =>
        client.PostAsJsonAsync("/api/users/login", new { email, password });
}
