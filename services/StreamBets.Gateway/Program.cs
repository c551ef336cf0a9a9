using StreamBets.Gateway.Bets;
using StreamBets.Gateway.Extensions;
using StreamBets.Gateway.RateLimiting;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
// Before authentication: a token not seen valid yet costs an RSA check, so its network's budget is taken first.
app.UseMiddleware<UnverifiedTokenLimitingMiddleware>();
app.UseAuthentication();
app.UseMiddleware<RateLimitingMiddleware>();
app.UseAuthorization();
app.MapRelayedBets();
app.MapReverseProxy();

app.Run();
