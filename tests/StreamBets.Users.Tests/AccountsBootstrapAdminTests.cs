using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamBets.Testing;
using StreamBets.Users.Accounts;

namespace StreamBets.Users.Tests;

/// <summary>
/// The Development bootstrap admin's email is published (appsettings, docs), so anyone may register it before a restart:
/// start-up must never make that account an admin.
/// </summary>
public sealed class AccountsBootstrapAdminTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private const string BootstrapPassword = "bootstrap-password-from-config";

    [Fact]
    public async Task A_player_who_registered_the_bootstrap_email_is_not_made_admin_by_a_restart()
    {
        var email = AccountsTestApp.NewEmail("admin");
        using var client = app.CreateClient();
        (await client.PostAsJsonAsync("/api/users/register", AccountsTestApp.Registration(email, country: "DE"))).EnsureSuccessStatusCode();
        var logs = new CollectedLogs();

        await StartBootstrapAdminAsync(email, logs);

        Assert.Equal("player", await app.ScalarAsync<string>("SELECT role FROM users WHERE lower(email) = lower($1)", email));
        var signIn = await client.PostAsJsonAsync("/api/users/login", new { email, password = BootstrapPassword });
        Assert.Equal(HttpStatusCode.Unauthorized, signIn.StatusCode);
        var warning = Assert.Single(logs.Records, r => r.EventName == "BootstrapAdminEmailTaken");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.DoesNotContain(email, warning.AllText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_bootstrap_admin_already_there_is_left_as_it_is()
    {
        var logs = new CollectedLogs();

        await StartBootstrapAdminAsync(AccountsTestApp.AdminEmail, logs);

        Assert.Equal("admin", await app.ScalarAsync<string>("SELECT role FROM users WHERE lower(email) = lower($1)", AccountsTestApp.AdminEmail));
        await app.LoginAsync(AccountsTestApp.AdminEmail, AccountsTestApp.AdminPassword);
        Assert.DoesNotContain(logs.Records, r => r.Level >= LogLevel.Warning);
    }

    /// <summary>What a restart runs, configured with <paramref name="email"/>, on this app's database.</summary>
    private async Task StartBootstrapAdminAsync(string email, CollectedLogs logs)
    {
        using var loggers = new LoggerFactory([logs]);
        var settings = Options.Create(new BootstrapAdminOptions { Email = email, Password = BootstrapPassword });
        var bootstrap = ActivatorUtilities.CreateInstance<BootstrapAdmin>(app.Services, settings, loggers.CreateLogger<BootstrapAdmin>());
        await bootstrap.StartAsync(CancellationToken.None);
    }
}
