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
