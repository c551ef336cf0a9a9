namespace StreamBets.Pools.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Pools service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddGrpcDefaults();
        builder.AddNpgsqlDataSource("poolsdb");
        builder.AddPostgresSchema("poolsdb", typeof(Extensions).Assembly);
        builder.AddRedisClient("redis");
    }
}
