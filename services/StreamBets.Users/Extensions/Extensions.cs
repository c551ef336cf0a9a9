using Microsoft.AspNetCore.Identity;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Users.Accounts;
using StreamBets.Users.Auth;
using StreamBets.Users.Deposits;
using StreamBets.Users.Withdrawals;
using StreamBets.Users.IntegrationEvents.EventHandling;
using StreamBets.Users.Kyc;
using StreamBets.Users.Ledger;
using StreamBets.Users.ResponsibleGambling;

namespace StreamBets.Users.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Users service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddGrpcDefaults();
        builder.AddNpgsqlDataSource("usersdb");
        builder.AddPostgresSchema("usersdb", typeof(Extensions).Assembly);
        builder.AddRedisClient("redis", settings => settings.DisableHealthChecks = true);
        builder.AddRedisFallbackHealthCheck();
        builder.AddEventBus("usersdb")
            .AddSubscription<DepositSucceeded, DepositSucceededHandler>();

        builder.Services.AddSingleton<LedgerStore>();
        builder.Services.Configure<LedgerAuditOptions>(builder.Configuration.GetSection(LedgerAuditOptions.SectionName));
        builder.Services.AddSingleton<LedgerAudit>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerAudit>());
        builder.Services.AddSingleton<SandboxDeposits>();
        builder.Services.AddSingleton<SandboxWithdrawals>();
        builder.AddAccounts();
        builder.AddKyc();
        builder.AddResponsibleGambling();
    }

    private static void AddAccounts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<AuthOptions>(builder.Configuration.GetSection(AuthOptions.SectionName));
        services.Configure<BootstrapAdminOptions>(builder.Configuration.GetSection(BootstrapAdminOptions.SectionName));
        services.AddSingleton<IPasswordHasher<UserAccount>, PasswordHasher<UserAccount>>();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<AccountRegistration>();
        services.AddSingleton<Profiles>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<SessionRevocationList>();
        services.AddSingleton<LoginThrottle>();
        services.AddHostedService<AuthCleanup>();
        services.AddSingleton<Authenticator>();
        // After the schema migrator (hosted services start in registration order).
        services.AddHostedService<BootstrapAdmin>();
    }

    private static void AddKyc(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection(KycOptions.SectionName);
        services.Configure<KycOptions>(section);
        OnfidoKycProvider.AddHttpClient(services, section.GetSection("Onfido").Get<OnfidoOptions>() ?? new OnfidoOptions());
        services.AddSingleton<SandboxKycProvider>();
        services.AddSingleton<IKycProvider>(sp => sp.GetRequiredService<SandboxKycProvider>());
        services.AddSingleton<IKycProvider, OnfidoKycProvider>();
        services.AddSingleton<KycProviders>();
        services.AddSingleton<KycTierChanges>();
        services.AddSingleton<KycChecks>();
        services.AddSingleton<KycVerification>();
        services.AddSingleton<KycWebhookReceiver>();
        services.AddSingleton<KycReviewQueue>();
        services.AddHostedService<SandboxKycCompleter>();
        services.AddSingleton<PendingKycCheckPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingKycCheckPoller>());
    }

    private static void AddResponsibleGambling(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<ResponsibleGamblingStore>();
        services.AddSingleton<ResponsibleGamblingSettings>();
        services.AddSingleton<EligibilityChecker>();
    }
}
