using StreamBets.Gateway.Bets;
using StreamBets.Gateway.Extensions;
using StreamBets.Gateway.RateLimiting;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseMiddleware<RateLimitingMiddleware>();
app.UseAuthorization();
app.MapRelayedBets();
app.MapReverseProxy();

app.Run();
