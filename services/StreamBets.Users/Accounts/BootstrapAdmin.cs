using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Npgsql;
using Roles = Microsoft.Extensions.Hosting.AuthenticationDefaults.Roles;

namespace StreamBets.Users.Accounts;

/// <summary>The first admin of a local deployment, from configuration section "Users:BootstrapAdmin".</summary>
public sealed class BootstrapAdminOptions
{
    public const string SectionName = "Users:BootstrapAdmin";

    public string? Email { get; set; }
    public string? Password { get; set; }
    public string DisplayName { get; set; } = "Admin";
    public string Country { get; set; } = Countries.Brazil;
}

/// <summary>
/// In Development only, makes sure the configured admin exists: creates it unless an account already has that email
/// (an admin is left as it is; anyone else is never promoted). Other environments create admins by hand (docs/users.md).
/// </summary>
public sealed partial class BootstrapAdmin(
    NpgsqlDataSource db, AccountStore accounts, IPasswordHasher<UserAccount> hasher, IOptions<BootstrapAdminOptions> options,
    IHostEnvironment environment, TimeProvider time, ILogger<BootstrapAdmin> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!environment.IsDevelopment() || string.IsNullOrEmpty(settings.Email) || string.IsNullOrEmpty(settings.Password))
        {
            return;
        }
        if (!AccountRules.TryNormalizeEmail(settings.Email, out var email)
            || AccountRules.PasswordProblem(settings.Password, email) is not null
            || !Countries.TryNormalize(settings.Country, out var country))
        {
            throw new InvalidOperationException($"{BootstrapAdminOptions.SectionName} needs a valid Email, a Password of at least {AccountRules.MinimumPasswordLength} characters and a Country code.");
        }

        var now = time.GetUtcNow();
        if (await accounts.FindByEmailAsync(email, cancellationToken) is { } existing)
        {
            // The email is published (appsettings, docs): whoever registered it first must not be made admin, with their
            // own password, by a restart.
            if (existing.Role != Roles.Admin)
            {
                LogEmailBelongsToPlayer(logger, existing.Id, existing.Role);
            }
            return;
        }

        // The admin is a staff account: it has no player date of birth or document and never bets.
        var admin = new UserAccount(Guid.CreateVersion7(now), email, "", settings.DisplayName, new DateOnly(1970, 1, 1), country, null,
            Roles.Admin, 0, null, false, now);
        admin = admin with { PasswordHash = hasher.HashPassword(admin, settings.Password) };
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await AccountStore.InsertAsync(connection, transaction, admin, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogCreated(logger, admin.Id);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 10, EventName = "BootstrapAdminCreated", Level = LogLevel.Information, Message = "Created the bootstrap admin {UserId}")]
    private static partial void LogCreated(ILogger logger, Guid userId);

    [LoggerMessage(EventId = 12, EventName = "BootstrapAdminEmailTaken", Level = LogLevel.Warning,
        Message = "The bootstrap admin was not created: its email belongs to a player's account, user {UserId} (role {Role}), which was left as it is; configure another Users:BootstrapAdmin:Email")]
    private static partial void LogEmailBelongsToPlayer(ILogger logger, Guid userId, string role);
}
