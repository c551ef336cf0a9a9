using StreamBets.Web.Auth;
using StreamBets.Web.Components;
using StreamBets.Web.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddPageErrors();

var app = builder.Build();

app.UseBrowserSecurityHeaders();
app.MapDefaultEndpoints();
// A page request that ends in an error status with no body (an unknown address) shows the player a page of this app,
// in their language, instead of the services' problem document. Answers that carry a body are left as they are.
app.UseStatusCodePagesWithReExecute("/status/{0}", createScopeForStatusCodePages: true);
app.UseRequestLocalization();
// A page that throws (Redis not answering the cookie check) becomes an empty 500 or 503, re-executed above as the status page.
app.UsePageErrors();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.UseStaleFormRedirect();
app.MapStaticAssets();
app.MapAccountEndpoints();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
