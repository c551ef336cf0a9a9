namespace StreamBets.Payments.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Payments service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddNpgsqlDataSource("paymentsdb");
        builder.AddPostgresSchema("paymentsdb", typeof(Extensions).Assembly);
    }
}
