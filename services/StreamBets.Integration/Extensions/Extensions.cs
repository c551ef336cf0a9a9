namespace StreamBets.Integration.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Integration service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddNpgsqlDataSource("integrationdb");
        builder.AddPostgresSchema("integrationdb", typeof(Extensions).Assembly);
    }
}
