namespace StreamBets.Settlement.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Settlement service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddGrpcDefaults();
        builder.AddNpgsqlDataSource("settlementdb");
        builder.AddPostgresSchema("settlementdb", typeof(Extensions).Assembly);
    }
}
