using StreamBets.Analytics.ClickHouse;

namespace StreamBets.Analytics.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Analytics service registers, in one place.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddClickHouse();
    }
}
