using StreamBets.Users.Apis;
using StreamBets.Users.Auth;
using StreamBets.Users.Extensions;
using StreamBets.Users.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
_ = app.Services.GetRequiredService<AccessTokenIssuer>(); // a missing or mismatched key pair stops Users here, not at the first sign-in

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultOpenApi();
app.MapGrpcDefaults();

app.MapWalletApi();
app.MapGrpcService<WalletService>();
app.MapAuthApi();
app.MapAccountsApi();
app.MapKycApi();
app.MapResponsibleGamblingApi();
app.MapGrpcService<UserAccountsService>();

app.Run();

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
