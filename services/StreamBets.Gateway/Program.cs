using StreamBets.Gateway.Bets;
using StreamBets.Gateway.Extensions;
using StreamBets.Gateway.Proxy;
using StreamBets.Gateway.RateLimiting;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseMiddleware<RateLimitingMiddleware>();
app.UseAuthorization();
app.UseRepeatedIdempotencyKeyRefusal();
app.UseOversizedBodyRefusal();
app.MapRelayedBets();
app.MapReverseProxy();

app.Run();
