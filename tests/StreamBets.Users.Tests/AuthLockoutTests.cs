using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
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
    public async Task Failures_under_each_spelling_of_one_mailbox_count_together()
    {
        using var client = app.CreateClient();
        var tag = Guid.NewGuid().ToString("N")[..12];
        string[] spellings = [$"jos\u00e9{tag}@b\u00fccher.de", $"jose\u0301{tag}@xn--bcher-kva.de", $"JOS\u00c9{tag}@B\u00dcCHER.DE"];

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add((await LoginAsync(client, spellings[i % spellings.Length], "wrong-password")).StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 4), HttpStatusCode.Locked], answers);
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
    public async Task Five_failures_within_any_15_minutes_lock_even_when_they_straddle_the_first_failures_window()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        var first = (await LoginAsync(client, player.Email, "wrong-password")).StatusCode;
        app.Clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        var beforeTheWindowEnds = await WrongPasswordsAsync(client, player.Email, 3);
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        // The first failure is 15 minutes old now and no longer counts; the three a second ago still do.
        var afterIt = await WrongPasswordsAsync(client, player.Email, 2);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), HttpStatusCode.Locked], [first, .. beforeTheWindowEnds, .. afterIt]);
        Assert.Equal(HttpStatusCode.Locked, (await LoginAsync(client, player.Email, player.Password)).StatusCode);
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
    public async Task Failures_from_many_64s_of_one_ipv6_site_lock_the_email_only_from_that_site()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        // 5 guesses from each of 2001:db8:0:1::1 ... 2001:db8:0:a::1, ten /64s of one home's /48: the gateway names them
        // all by the /48, so they count as one source, which they lock, far below the ceiling across sources.
        var guesses = await WrongPasswordsAsync(client, player.Email, 50, _ => GuesserIpv6Site);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 4), .. Enumerable.Repeat(HttpStatusCode.Locked, 46)], guesses);
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failure_counted_while_a_concurrent_delete_removes_its_rows_is_counted_afresh(bool deletedBeforeTheFailureStarts)
    {
        var throttle = app.Services.GetRequiredService<LoginThrottle>();
        var email = AccountsTestApp.NewEmail("nobody");
        await throttle.RecordFailureAsync(email, Guesser, default);
        await using var deleter = new NpgsqlConnection(app.ConnectionString);
        await deleter.OpenAsync();
        await using var transaction = await deleter.BeginTransactionAsync();

        // A delete in flight (the hourly cleanup, a success's reset) holds the rows; the failure waits for them, and the
        // delete takes them either before the failure starts or while it waits.
        await ExecuteAsync(transaction, deletedBeforeTheFailureStarts ? Delete : "SELECT 1 FROM login_failures WHERE email_key = $1 FOR UPDATE", email);
        var failure = throttle.RecordFailureAsync(email, Guesser, default);
        await WaitUntilBlockedByAsync(deleter.ProcessID);
        if (!deletedBeforeTheFailureStarts)
        {
            await ExecuteAsync(transaction, Delete, email);
        }
        await transaction.CommitAsync();
        await failure.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([("", 1), (Guesser, 1)], await FailuresAsync(email));
    }

    [Fact]
    public async Task Cleanup_running_beside_failures_neither_deadlocks_nor_loses_a_count()
    {
        var throttle = app.Services.GetRequiredService<LoginThrottle>();
        string[] sources = [Guesser, Owner, OwnerIpv6];
        using var stop = new CancellationTokenSource();
        var cleanup = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await throttle.ForgetSettledAsync(default);
            }
        });

        try
        {
            await FailAndCleanUpForAsync(throttle, sources, TimeSpan.FromSeconds(2));
        }
        finally
        {
            await stop.CancelAsync();
        }
        await cleanup; // a deadlock the cleanup lost would surface here
    }

    /// <summary>Rounds of failures beside the cleanup for about that long, each checked as it ends.</summary>
    private async Task FailAndCleanUpForAsync(LoginThrottle throttle, string[] sources, TimeSpan duration)
    {
        var until = DateTime.UtcNow + duration;
        do
        {
            // Rows the cleanup deletes while failures count in them: one failure each, past its window.
            var emails = Enumerable.Range(0, 20).Select(_ => AccountsTestApp.NewEmail("nobody")).ToList();
            var pairs = emails.SelectMany(email => sources.Select(source => (email, source))).ToList();
            await Task.WhenAll(pairs.Select(p => throttle.RecordFailureAsync(p.email, p.source, default)));
            app.Clock.Advance(TimeSpan.FromMinutes(15));

            // Four more from each source, one after another, all sources at once: the first starts the count afresh.
            await Task.WhenAll(pairs.Select(p => Task.Run(async () =>
            {
                for (var i = 0; i < 4; i++)
                {
                    await throttle.RecordFailureAsync(p.email, p.source, default);
                }
            })));

            foreach (var email in emails)
            {
                Assert.Equal([("", 12), .. sources.Order(StringComparer.Ordinal).Select(s => (s, 4))], await FailuresAsync(email));
            }
        }
        while (DateTime.UtcNow < until);
    }

    [Fact]
    public void The_lock_counts_failures_in_a_rolling_window()
    {
        var policy = new LockoutPolicy(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
        var start = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var failures = LoginFailures.None;

        failures = failures.AfterFailure(start, policy).AfterFailure(start.AddMinutes(5), policy).AfterFailure(start.AddMinutes(10), policy);
        Assert.Equal(start.AddMinutes(25), failures.LockedUntil);

        var afterLock = failures.AfterFailure(start.AddMinutes(25), policy);
        Assert.Equal((1, (DateTimeOffset?)null), (afterLock.Count, afterLock.LockedUntil));
    }

    // Client sites as the gateway names them (docs/gateway.md).
    private const string Guesser = "ip:203.0.113.66";
    private const string Owner = "ip:198.51.100.20";
    private const string OwnerIpv6 = "ip:2001:db8:1::/48";
    private const string GuesserIpv6Site = "ip:2001:db8::/48";

    private const string Delete = "DELETE FROM login_failures WHERE email_key = $1";

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string email, string password, string? network = null) =>
        AccountsTestApp.AttemptLoginAsync(client, email, password, network);

    /// <summary>The email's failure counts by source, the email's own row ('') first.</summary>
    private async Task<List<(string Source, int Failures)>> FailuresAsync(string email)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT source, failures FROM login_failures WHERE email_key = $1 ORDER BY source COLLATE \"C\"", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = email });
        await using var reader = await select.ExecuteReaderAsync();
        var failures = new List<(string, int)>();
        while (await reader.ReadAsync())
        {
            failures.Add((reader.GetString(0), reader.GetInt32(1)));
        }
        return failures;
    }

    private static async Task ExecuteAsync(NpgsqlTransaction transaction, string sql, string email)
    {
        await using var command = new NpgsqlCommand(sql, transaction.Connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = email });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Waits until some statement waits for a lock the given backend holds.</summary>
    private async Task WaitUntilBlockedByAsync(int holder)
    {
        for (var waited = TimeSpan.Zero; waited < TimeSpan.FromSeconds(10); waited += TimeSpan.FromMilliseconds(20))
        {
            if (await app.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", holder) > 0)
            {
                return;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("Nothing waited for the delete's locks.");
    }

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
