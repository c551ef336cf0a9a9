using StreamBets.Messaging;
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

        builder.AddEventBus("usersdb");

        builder.Services.AddSingleton<LedgerStore>();
    }
}
