using StreamBets.Admin.Components;
using StreamBets.Admin.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddPageErrors();

var app = builder.Build();

app.UseBrowserSecurityHeaders();
app.MapDefaultEndpoints();
// A page request that ends in an error status with no body (an unknown address) shows a console page, not the
// services' problem document.
app.UseStatusCodePagesWithReExecute("/status/{0}", createScopeForStatusCodePages: true);
// A page that throws (Redis not answering the cookie check) becomes an empty 500 or 503, re-executed above as the status page.
app.UsePageErrors();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.UseStaleFormRedirect();
app.MapStaticAssets();
app.MapSignOut();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
