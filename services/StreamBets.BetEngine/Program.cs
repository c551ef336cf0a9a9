using StreamBets.BetEngine.Apis;
using StreamBets.BetEngine.Extensions;
using StreamBets.BetEngine.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultOpenApi();
app.MapGrpcDefaults();

app.MapBetsApi();
app.MapGrpcService<BetEngineGrpcService>();

app.Run();
