using StreamBets.Pools.Apis;
using StreamBets.Pools.Extensions;
using StreamBets.Pools.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultOpenApi();

app.MapPoolsApi();
app.MapPoolsAdminApi();
app.MapChannelLinksApi();

app.MapGrpcDefaults();
app.MapGrpcService<PoolsGrpcService>(); // service to service, on the internal "grpc" endpoint

app.Run();

public partial class Program;
