namespace StreamBets.BetEngine.Extensions;

internal static class Extensions
{
    /// <summary>Everything the BetEngine service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddGrpcDefaults();
        builder.AddNpgsqlDataSource("betsdb");
        builder.AddPostgresSchema("betsdb", typeof(Extensions).Assembly);
        builder.AddRedisClient("redis");
    }
}
