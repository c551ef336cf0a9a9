namespace StreamBets.Web.Extensions;

internal static class Extensions
{
    /// <summary>Everything the front end registers: Blazor server components and a gateway client found by service discovery.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddHttpClient("gateway", client => client.BaseAddress = new Uri("http://gateway"));
    }
}
