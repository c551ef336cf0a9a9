using StreamBets.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

// Stores: containers where a container runtime answers, the machine's own servers otherwise.
var infrastructure = StreamBetsInfrastructure.Add(builder);

// Services wait only for their stores (WithDatabase, WithRedis, ... each add a WaitFor), never for each other: every
// call between services goes through a retrying client, nothing calls another service while starting, and waiting in
// the diagram's order (users -> pools -> betengine -> gateway -> web) made the cold start a chain of health-check
// polls. References still give each service the others' addresses.

// Users signs the access tokens with a private key; every other service holds only the public key that checks them.
var tokenKeys = AccessTokenKeys.Add(builder);
// The front ends vouch with it for the browser address they forward to the gateway's rate limits (docs/gateway.md).
var frontEndKey = builder.AddParameter("front-end-key", new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);

var users = builder.AddProject<Projects.StreamBets_Users>("users")
    .WithDatabase(infrastructure, "usersdb")
    .WithRedis(infrastructure)
    .WithEventBus(infrastructure)
    .WithSandboxDepositsInLocalMode(infrastructure)
    .WithOnfidoKycInDeployments()
    .WithAccessTokenSigning(tokenKeys);

var pools = builder.AddProject<Projects.StreamBets_Pools>("pools")
    .WithDatabase(infrastructure, "poolsdb")
    .WithRedis(infrastructure)
    .WithDocumentStore(infrastructure)
    .WithEventBus(infrastructure)
    .WithReference(users)
    .WithAccessTokenValidation(tokenKeys);

var betEngine = builder.AddProject<Projects.StreamBets_BetEngine>("betengine")
    .WithDatabase(infrastructure, "betsdb")
    .WithRedis(infrastructure)
    .WithEventBus(infrastructure)
    .WithReference(users)
    .WithReference(pools)
    .WithAccessTokenValidation(tokenKeys);

var settlement = builder.AddProject<Projects.StreamBets_Settlement>("settlement")
    .WithDatabase(infrastructure, "settlementdb")
    .WithEventBus(infrastructure)
    .WithReference(betEngine)
    .WithReference(pools)
    .WithReference(users)
    .WithAccessTokenValidation(tokenKeys);

var payments = builder.AddProject<Projects.StreamBets_Payments>("payments")
    .WithDatabase(infrastructure, "paymentsdb")
    .WithEventBus(infrastructure)
    .WithReference(users)
    .WithAccessTokenValidation(tokenKeys);

var integration = builder.AddProject<Projects.StreamBets_Integration>("integration")
    .WithDatabase(infrastructure, "integrationdb")
    .WithDocumentStore(infrastructure)
    .WithEventBus(infrastructure)
    .WithAccessTokenValidation(tokenKeys);

var realtime = builder.AddProject<Projects.StreamBets_Realtime>("realtime")
    .WithRedis(infrastructure)
    .WithEventBus(infrastructure)
    .WithAccessTokenValidation(tokenKeys);

var analytics = builder.AddProject<Projects.StreamBets_Analytics>("analytics")
    .WithClickHouse(infrastructure)
    .WithEventBus(infrastructure)
    .WithAccessTokenValidation(tokenKeys);

// The gateway, web and admin are the only external endpoints.
var gateway = builder.AddProject<Projects.StreamBets_Gateway>("gateway")
    .WithRedis(infrastructure)
    .WithReference(users)
    .WithReference(betEngine)
    .WithReference(pools)
    .WithReference(settlement)
    .WithReference(payments)
    .WithReference(integration)
    .WithReference(realtime)
    .WithReference(analytics)
    .WithAccessTokenValidation(tokenKeys)
    .WithEnvironment("FrontEnd__Key", frontEndKey)
    .WithExternalHttpEndpoints();

// The player app keeps each signed-in player's Users tokens server-side, in Redis.
builder.AddProject<Projects.StreamBets_Web>("web")
    .WithRedis(infrastructure)
    .WithReference(gateway)
    .WithEnvironment("FrontEnd__Key", frontEndKey)
    .WithExternalHttpEndpoints();

// The operators' console keeps its own sessions' tokens there the same way, under its own keys.
builder.AddProject<Projects.StreamBets_Admin>("admin")
    .WithRedis(infrastructure)
    .WithReference(gateway)
    .WithEnvironment("FrontEnd__Key", frontEndKey)
    .WithExternalHttpEndpoints();

builder.CheckEveryServiceHealth();
builder.RunServicesInTheAppHostEnvironment();

builder.Build().Run();
