using StreamBets.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

// Stores: containers where a container runtime answers, the machine's own servers otherwise.
var infrastructure = StreamBetsInfrastructure.Add(builder);

// Services wait only for their stores (WithDatabase, WithRedis, ... each add a WaitFor), never for each other: every
// call between services goes through a retrying client, nothing calls another service while starting, and waiting in
// the diagram's order (users -> pools -> betengine -> gateway -> web) made the cold start a chain of health-check
// polls. References still give each service the others' addresses.

// One signing key for the JWTs that Users issues and every service validates.
var signingKey = builder.AddParameter("auth-signing-key", new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);
// The front ends vouch with it for the browser address they forward to the gateway's rate limits (docs/gateway.md).
var frontEndKey = builder.AddParameter("front-end-key", new GenerateParameterDefault { MinLength = 48, Special = false }, secret: true, persist: true);

var users = builder.AddProject<Projects.StreamBets_Users>("users")
    .WithDatabase(infrastructure, "usersdb")
    .WithRedis(infrastructure)
    .WithEventBus(infrastructure)
    .WithSandboxDepositsInLocalMode(infrastructure)
    .WithEnvironment("Auth__SigningKey", signingKey);

var pools = builder.AddProject<Projects.StreamBets_Pools>("pools")
    .WithDatabase(infrastructure, "poolsdb")
    .WithRedis(infrastructure)
    .WithDocumentStore(infrastructure)
    .WithEventBus(infrastructure)
    .WithReference(users)
    .WithEnvironment("Auth__SigningKey", signingKey);

var betEngine = builder.AddProject<Projects.StreamBets_BetEngine>("betengine")
    .WithDatabase(infrastructure, "betsdb")
    .WithRedis(infrastructure)
    .WithEventBus(infrastructure)
    .WithReference(users)
    .WithReference(pools)
    .WithEnvironment("Auth__SigningKey", signingKey);

var settlement = builder.AddProject<Projects.StreamBets_Settlement>("settlement")
    .WithDatabase(infrastructure, "settlementdb")
    .WithEventBus(infrastructure)
    .WithReference(betEngine)
    .WithReference(pools)
    .WithReference(users)
    .WithEnvironment("Auth__SigningKey", signingKey);

var payments = builder.AddProject<Projects.StreamBets_Payments>("payments")
    .WithDatabase(infrastructure, "paymentsdb")
    .WithEventBus(infrastructure)
    .WithReference(users)
    .WithEnvironment("Auth__SigningKey", signingKey);

var integration = builder.AddProject<Projects.StreamBets_Integration>("integration")
    .WithDatabase(infrastructure, "integrationdb")
    .WithDocumentStore(infrastructure)
    .WithEventBus(infrastructure)
    .WithEnvironment("Auth__SigningKey", signingKey);

var realtime = builder.AddProject<Projects.StreamBets_Realtime>("realtime")
    .WithRedis(infrastructure)
    .WithEventBus(infrastructure)
    .WithEnvironment("Auth__SigningKey", signingKey);

var analytics = builder.AddProject<Projects.StreamBets_Analytics>("analytics")
    .WithClickHouse(infrastructure)
    .WithEventBus(infrastructure)
    .WithEnvironment("Auth__SigningKey", signingKey);

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
    .WithEnvironment("Auth__SigningKey", signingKey)
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
