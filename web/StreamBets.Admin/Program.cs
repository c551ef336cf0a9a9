using StreamBets.Admin.Components;
using StreamBets.Admin.Extensions;
using StreamBets.Admin.Operations;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.MapStaticAssets();
app.MapPost("/account/signout", (HttpContext context, SessionTokens tokens, OperatorGateway gateway) => SessionSignIn.SignOutAsync(context, tokens, gateway))
    .WithMetadata(new Microsoft.AspNetCore.Antiforgery.RequireAntiforgeryTokenAttribute());
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
