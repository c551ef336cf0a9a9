using StreamBets.Admin.Components;
using StreamBets.Admin.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.MapStaticAssets();
app.MapSignOut();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
