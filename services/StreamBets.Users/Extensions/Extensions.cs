using StreamBets.Users.Ledger;

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
        builder.AddRedisClient("redis");

        // Wallet ledger
        builder.Services.AddSingleton<LedgerStore>();
        builder.Services.AddSingleton<IWalletChangeOutbox, PendingWalletChangeOutbox>();
    }
}
