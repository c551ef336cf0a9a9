using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using StackExchange.Redis;

namespace StreamBets.AppHost.Infrastructure;

/// <summary>
/// Local mode: PostgreSQL, Redis and ClickHouse from the machine's Debian packages, run by DCP as plain
/// processes on loopback ports, with their data under one folder that survives restarts.
/// </summary>
public static class LocalServers
{
    public const string DataDirectorySetting = "StreamBets:DataDirectory";
    public const string ResetDataSetting = "StreamBets:ResetData";

    /// <summary>The data folder: <c>StreamBets:DataDirectory</c>, else <c>.data/</c> at the repository root. With
    /// <c>StreamBets:ResetData=true</c> the servers start on empty folders.</summary>
    public static string DataDirectory(IDistributedApplicationBuilder builder)
    {
        var configured = builder.Configuration[DataDirectorySetting];
        var directory = Path.GetFullPath(string.IsNullOrWhiteSpace(configured)
            ? Path.Combine(builder.AppHostDirectory, "..", ".data")
            : configured);

        if (string.Equals(builder.Configuration[ResetDataSetting], "true", StringComparison.OrdinalIgnoreCase) && Directory.Exists(directory))
        {
            Reset(builder, directory);
        }
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>Deletes the servers' folders only (the data folder is the user's choice and may hold anything), after
    /// stopping servers a hard-killed run left on them.</summary>
    private static void Reset(IDistributedApplicationBuilder builder, string directory)
    {
        using var reset = System.Diagnostics.Process.Start("bash", [Path.Combine(builder.AppHostDirectory, "LocalServers", "reset.sh"), directory]);
        reset.WaitForExit();
        if (reset.ExitCode != 0)
        {
            throw new DistributedApplicationException($"Resetting the local data in {directory} failed (reset.sh exited with {reset.ExitCode}); see its message above.");
        }
    }

    /// <summary>Fails fast, naming the package to install, instead of leaving a resource that never starts.</summary>
    public static void RequireInstalled()
    {
        var missing = new List<string>();
        if (!Directory.Exists("/usr/lib/postgresql") || !Directory.EnumerateDirectories("/usr/lib/postgresql").Any(d => File.Exists(Path.Combine(d, "bin", "postgres"))))
        {
            missing.Add("postgresql");
        }
        if (!OnPath("redis-server"))
        {
            missing.Add("redis-server");
        }
        if (!OnPath("clickhouse-server"))
        {
            missing.Add("clickhouse-server");
        }
        if (missing.Count > 0)
        {
            throw new DistributedApplicationException(
                $"Local mode needs these Debian packages, which are not installed: {string.Join(", ", missing)}. " +
                "Run the README's run command (./run.sh), which installs them, or: sudo apt-get install -y " + string.Join(' ', missing));
        }
    }

    public static IResourceBuilder<LocalServerResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name, string dataDirectory)
    {
        var script = Path.Combine(builder.AppHostDirectory, "LocalServers", "postgres.sh");
        var server = new LocalServerResource(name, "bash", builder.AppHostDirectory, "tcp", "Host=", ";Username=postgres");
        var healthCheck = $"{name}-ready";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, async cancellationToken =>
        {
            try
            {
                var connectionString = await server.ConnectionStringExpression.GetValueAsync(cancellationToken);
                await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false;Timeout=3");
                await connection.OpenAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL is not accepting connections yet.", e);
            }
        });

        return builder.AddResource(server)
            .WithEndpoint(name: "tcp", scheme: "tcp")
            .WithArgs(context =>
            {
                context.Args.Add(script);
                context.Args.Add(Path.Combine(dataDirectory, "postgres"));
                context.Args.Add(server.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithHealthCheck(healthCheck);
    }

    public static IResourceBuilder<LocalServerResource> AddLocalRedis(this IDistributedApplicationBuilder builder, string name, string dataDirectory)
    {
        var script = Path.Combine(builder.AppHostDirectory, "LocalServers", "redis.sh");
        var server = new LocalServerResource(name, "bash", builder.AppHostDirectory, "tcp");
        var healthCheck = $"{name}-ping";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, async cancellationToken =>
        {
            try
            {
                var connectionString = await server.ConnectionStringExpression.GetValueAsync(cancellationToken);
                await using var connection = await ConnectionMultiplexer.ConnectAsync(connectionString + ",connectTimeout=2000,abortConnect=true");
                await connection.GetDatabase().PingAsync();
                return HealthCheckResult.Healthy();
            }
            catch (RedisException e)
            {
                return HealthCheckResult.Unhealthy("Redis is not answering PING yet.", e);
            }
        });

        return builder.AddResource(server)
            .WithEndpoint(name: "tcp", scheme: "tcp")
            .WithArgs(context =>
            {
                context.Args.Add(script);
                context.Args.Add(Path.Combine(dataDirectory, "redis"));
                context.Args.Add(server.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithHealthCheck(healthCheck);
    }

    public static IResourceBuilder<LocalServerResource> AddLocalClickHouse(this IDistributedApplicationBuilder builder, string name, string dataDirectory)
    {
        var script = Path.Combine(builder.AppHostDirectory, "LocalServers", "clickhouse.sh");
        var server = new LocalServerResource(name, "bash", builder.AppHostDirectory, "http", "http://");
        var healthCheck = $"{name}-ping";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, async cancellationToken =>
        {
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
                var baseUrl = await server.ConnectionStringExpression.GetValueAsync(cancellationToken);
                var answer = await http.GetStringAsync($"{baseUrl}/ping", cancellationToken);
                return answer.StartsWith("Ok", StringComparison.Ordinal) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(answer);
            }
            catch (HttpRequestException e)
            {
                return HealthCheckResult.Unhealthy("ClickHouse is not answering /ping yet.", e);
            }
        });

        var tcp = new EndpointReference(server, "tcp");
        return builder.AddResource(server)
            .WithEndpoint(name: "http", scheme: "http")
            .WithEndpoint(name: "tcp", scheme: "tcp")
            .WithArgs(context =>
            {
                context.Args.Add(script);
                context.Args.Add(Path.Combine(dataDirectory, "clickhouse"));
                context.Args.Add(server.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add(tcp.Property(EndpointProperty.TargetPort));
            })
            .WithHealthCheck(healthCheck);
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin")
            .Any(directory => File.Exists(Path.Combine(directory, command)));
}
