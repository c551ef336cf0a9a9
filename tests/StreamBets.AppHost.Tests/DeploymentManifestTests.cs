using System.Diagnostics;
using System.Text.Json;

namespace StreamBets.AppHost.Tests;

/// <summary>azd builds on the AppHost's deployment manifest, so it must list every service and store.</summary>
public sealed class DeploymentManifestTests
{
    [Fact]
    public async Task The_deployment_manifest_lists_every_service_and_store()
    {
        var manifest = await PublishManifestAsync();
        var resources = manifest.RootElement.GetProperty("resources");

        foreach (var project in new[] { "gateway", "users", "betengine", "pools", "settlement", "integration", "realtime", "payments", "analytics", "web", "admin" })
        {
            Assert.True(resources.TryGetProperty(project, out var resource), $"{project} is missing from the manifest.");
            Assert.StartsWith("project.", resource.GetProperty("type").GetString());
        }
        foreach (var store in new[] { "redis", "kafka", "mongo", "clickhouse" })
        {
            Assert.True(resources.TryGetProperty(store, out var resource), $"{store} is missing from the manifest.");
            Assert.StartsWith("container.", resource.GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task A_deployment_keeps_its_money_in_a_managed_postgresql_whose_connection_string_is_a_secret()
    {
        var resources = (await PublishManifestAsync()).RootElement.GetProperty("resources");

        // No PostgreSQL container (its data volume would be Azure Files, which it cannot initialise on): one secret.
        var postgres = resources.GetProperty("postgres");
        Assert.Equal("parameter.v0", postgres.GetProperty("type").GetString());
        Assert.True(postgres.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        foreach (var (service, database) in new[] { ("users", "usersdb"), ("betengine", "betsdb"), ("pools", "poolsdb"), ("settlement", "settlementdb"), ("payments", "paymentsdb"), ("integration", "integrationdb") })
        {
            Assert.Equal($"{{postgres.connectionString}};Database={database}",
                resources.GetProperty(service).GetProperty("env").GetProperty($"ConnectionStrings__{database}").GetString());
        }
    }

    [Fact]
    public async Task Only_users_holds_the_private_key_that_signs_access_tokens()
    {
        var resources = (await PublishManifestAsync()).RootElement.GetProperty("resources");

        // Both halves are deployment parameters: a generated private key could not match a public key given separately.
        Assert.True(resources.GetProperty("access-token-private-key").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        Assert.Equal("parameter.v0", resources.GetProperty("access-token-public-key").GetProperty("type").GetString());
        foreach (var service in new[] { "gateway", "users", "betengine", "pools", "settlement", "integration", "realtime", "payments", "analytics" })
        {
            var env = resources.GetProperty(service).GetProperty("env");
            Assert.Equal("{access-token-public-key.value}", env.GetProperty("Auth__PublicKey").GetString());
            Assert.Equal(service == "users", env.TryGetProperty("Auth__SigningKey", out _));
        }
    }

    [Fact]
    public async Task A_deployed_kafka_tells_clients_its_own_name_not_localhost()
    {
        var kafka = (await PublishManifestAsync()).RootElement.GetProperty("resources").GetProperty("kafka").GetProperty("env");

        Assert.Equal("PLAINTEXT://kafka:9092", kafka.GetProperty("KAFKA_ADVERTISED_LISTENERS").GetString());
    }

    [Fact]
    public async Task A_deployed_kafka_keeps_its_log_on_its_volume()
    {
        var kafka = (await PublishManifestAsync()).RootElement.GetProperty("resources").GetProperty("kafka");

        // Not the image's default under /tmp: a restart would lose every topic and committed offset.
        var logDirs = kafka.GetProperty("env").GetProperty("KAFKA_LOG_DIRS").GetString();
        Assert.Contains(logDirs, kafka.GetProperty("volumes").EnumerateArray().Select(v => v.GetProperty("target").GetString()));
    }

    [Fact]
    public async Task Deployed_services_use_kafka_and_mongodb()
    {
        var manifest = await PublishManifestAsync();
        var pools = manifest.RootElement.GetProperty("resources").GetProperty("pools").GetProperty("env");

        Assert.Equal("Kafka", pools.GetProperty("Messaging__Transport").GetString());
        Assert.Equal("MongoDB", pools.GetProperty("Documents__Store").GetString());
        Assert.Contains("{kafka.connectionString}", pools.GetProperty("ConnectionStrings__kafka").GetString());
        Assert.Contains("{mongo.connectionString}", pools.GetProperty("ConnectionStrings__mongo").GetString());
    }

    [Fact]
    public async Task A_deployment_checks_identities_with_onfido_whose_tokens_azd_asks_for()
    {
        var resources = (await PublishManifestAsync()).RootElement.GetProperty("resources");

        // Users' own settings name no provider, so without these every KYC start would answer 503.
        var users = resources.GetProperty("users").GetProperty("env");
        Assert.Equal("onfido", users.GetProperty("Kyc__Provider").GetString());
        Assert.Equal("{onfido-api-token.value}", users.GetProperty("Kyc__Onfido__ApiToken").GetString());
        Assert.Equal("{onfido-webhook-token.value}", users.GetProperty("Kyc__Onfido__WebhookToken").GetString());
        foreach (var token in new[] { "onfido-api-token", "onfido-webhook-token" })
        {
            var parameter = resources.GetProperty(token);
            Assert.Equal("parameter.v0", parameter.GetProperty("type").GetString());
            Assert.True(parameter.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
            Assert.False(parameter.GetProperty("inputs").GetProperty("value").TryGetProperty("default", out _), $"azd must ask for {token}.");
        }
    }

    [Fact]
    public async Task A_deployed_mongodb_requires_the_password_the_services_connect_with()
    {
        var resources = (await PublishManifestAsync()).RootElement.GetProperty("resources");

        var password = resources.GetProperty("mongo-password").GetProperty("inputs").GetProperty("value");
        Assert.True(password.GetProperty("secret").GetBoolean());
        Assert.True(password.GetProperty("default").TryGetProperty("generate", out _), "azd generates the MongoDB password.");

        var mongo = resources.GetProperty("mongo");
        var env = mongo.GetProperty("env");
        var user = env.GetProperty("MONGO_INITDB_ROOT_USERNAME").GetString();
        Assert.False(string.IsNullOrEmpty(user));
        Assert.Equal("{mongo-password.value}", env.GetProperty("MONGO_INITDB_ROOT_PASSWORD").GetString());
        // The root user lives in the admin database, not in each service's document database.
        Assert.Equal($"mongodb://{user}:{{mongo-password.value}}@{{mongo.bindings.tcp.host}}:{{mongo.bindings.tcp.port}}/?authSource=admin",
            mongo.GetProperty("connectionString").GetString());
    }

    private static readonly Lazy<Task<JsonDocument>> Manifest = new(async () =>
    {
        var output = Path.Combine(Path.GetTempPath(), $"streambets-manifest-{Guid.NewGuid():N}", "aspire-manifest.json");
        var appHost = Projects.StreamBets_AppHost.ProjectPath;
        var start = new ProcessStartInfo("dotnet", ["run", "--project", appHost, "--no-build", "--no-launch-profile", "--", "--publisher", "manifest", "--output-path", output])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"Publishing the manifest failed:\n{await stdout}\n{await stderr}");
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        Directory.Delete(Path.GetDirectoryName(output)!, recursive: true);
        return manifest;
    });

    private static Task<JsonDocument> PublishManifestAsync() => Manifest.Value;
}
