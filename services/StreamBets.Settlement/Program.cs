using StreamBets.Settlement.Apis;
using StreamBets.Settlement.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultOpenApi();

app.MapSettlementsApi();

app.MapGrpcDefaults();

app.Run();
