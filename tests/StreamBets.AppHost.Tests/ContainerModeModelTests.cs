using System.Net;
using System.Net.Sockets;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StreamBets.AppHost.Tests;

/// <summary>
/// Container mode cannot run here (no container runtime), so these tests build its model without
/// starting it and check what a machine with Docker or Podman would run.
/// </summary>
public sealed class ContainerModeModelTests
{
    private static async Task<IDistributedApplicationTestingBuilder> ContainerModeAsync() =>
        await DistributedApplicationTestingBuilder.CreateAsync<Projects.StreamBets_AppHost>(["--StreamBets:Infrastructure=Containers"]);

    [Fact]
    public async Task Container_mode_runs_the_five_stores_as_containers_with_their_images()
    {
        await using var builder = await ContainerModeAsync();

        var images = builder.Resources.OfType<ContainerResource>()
            .ToDictionary(r => r.Name, r => r.Annotations.OfType<ContainerImageAnnotation>().Single().Image);

        Assert.Equal(["clickhouse", "kafka", "mongo", "postgres", "redis"], images.Keys.Order());
        Assert.EndsWith("postgres", images["postgres"]);
        Assert.EndsWith("redis", images["redis"]);
        Assert.Equal("apache/kafka", images["kafka"]);
        Assert.Equal("mongo", images["mongo"]);
        Assert.Equal("clickhouse/clickhouse-server", images["clickhouse"]);
        Assert.Empty(builder.Resources.OfType<StreamBets.AppHost.Infrastructure.LocalServerResource>());
    }

    [Fact]
    public async Task The_postgres_container_drops_a_vanished_hosts_sessions_within_minutes()
    {
        await using var builder = await ContainerModeAsync();
        var postgres = builder.Resources.OfType<ContainerResource>().Single(r => r.Name == "postgres");

        List<object> arguments = [];
        foreach (var callback in postgres.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(new CommandLineArgsCallbackContext(arguments, postgres, CancellationToken.None));
        }

        // Their session-level locks (outbox leader, settlement pool lock) would otherwise outlive the host for about 2 h.
        Assert.Equal(["-c", "tcp_keepalives_idle=60", "-c", "tcp_keepalives_interval=10", "-c", "tcp_keepalives_count=6",
            "-c", "max_connections=400"], arguments);
    }

    [Theory]
    [InlineData("users", new[] { "usersdb", "redis", "kafka" }, new[] { "postgres", "redis", "kafka" })]
    [InlineData("pools", new[] { "poolsdb", "redis", "mongo", "kafka", "users" }, new[] { "postgres", "redis", "mongo", "kafka" })]
    [InlineData("betengine", new[] { "betsdb", "redis", "kafka", "users", "pools" }, new[] { "postgres", "redis", "kafka" })]
    [InlineData("settlement", new[] { "settlementdb", "kafka", "betengine", "pools", "users" }, new[] { "postgres", "kafka" })]
    [InlineData("payments", new[] { "paymentsdb", "kafka", "users" }, new[] { "postgres", "kafka" })]
    [InlineData("integration", new[] { "integrationdb", "mongo", "kafka" }, new[] { "postgres", "mongo", "kafka" })]
    [InlineData("realtime", new[] { "redis", "kafka" }, new[] { "redis", "kafka" })]
    [InlineData("analytics", new[] { "clickhouse", "kafka" }, new[] { "clickhouse", "kafka" })]
    [InlineData("gateway", new[] { "redis", "users", "betengine", "pools", "settlement", "payments", "integration", "realtime", "analytics" }, new[] { "redis" })]
    [InlineData("web", new[] { "gateway", "redis" }, new[] { "redis" })]
    [InlineData("admin", new[] { "gateway", "redis" }, new[] { "redis" })]
    public async Task Each_service_references_what_it_uses_and_waits_only_for_its_stores(string service, string[] references, string[] waitsFor)
    {
        await using var builder = await ContainerModeAsync();
        var resource = builder.Resources.Single(r => r.Name == service);

        var referenced = resource.Annotations.OfType<ResourceRelationshipAnnotation>()
            .Where(a => a.Type == "Reference" && a.Resource is not ParameterResource).Select(a => a.Resource.Name).ToHashSet();
        var awaited = resource.Annotations.OfType<WaitAnnotation>().Select(a => RootName(a.Resource)).ToHashSet();

        Assert.True(referenced.SetEquals(references), $"{service} references [{string.Join(", ", referenced)}]");
        Assert.True(awaited.SetEquals(waitsFor), $"{service} waits for [{string.Join(", ", awaited)}]");
    }

    [Fact]
    public async Task Only_the_gateway_and_the_front_ends_are_external()
    {
        await using var builder = await ContainerModeAsync();
        var external = builder.Resources.OfType<ProjectResource>()
            .Where(p => p.Annotations.OfType<EndpointAnnotation>().Any(e => e.IsExternal))
            .Select(p => p.Name);
        Assert.Equal(["admin", "gateway", "web"], external.Order());
    }

    [Fact]
    public async Task Kafka_is_healthy_once_it_answers_requests_not_when_its_port_merely_accepts_connections()
    {
        await using var builder = await ContainerModeAsync();
        var kafka = builder.Resources.OfType<ContainerResource>().Single(r => r.Name == "kafka");
        // The registered health checks alone: building the whole app (unused here) takes about 30 s.
        await using var services = builder.Services.BuildServiceProvider();

        // A broker still catching up with its metadata has bound its port: connections complete, requests go unanswered.
        using var broker = new TcpListener(IPAddress.Loopback, 0);
        broker.Start();
        AllocateAt(kafka, broker);
        Assert.Equal(HealthStatus.Unhealthy, await CheckHealthAsync(services, kafka));

        using var serving = new TcpListener(IPAddress.Loopback, 0);
        serving.Start();
        AllocateAt(kafka, serving);
        var answer = AnswerOneRequestAsync(serving);
        Assert.Equal(HealthStatus.Healthy, await CheckHealthAsync(services, kafka));
        await answer;
    }

    [Fact]
    public async Task Mongodb_is_healthy_only_once_it_answers_a_ping()
    {
        await using var builder = await ContainerModeAsync();
        var mongo = builder.Resources.OfType<ContainerResource>().Single(r => r.Name == "mongo");
        // The registered health checks alone: building the whole app (unused here) takes about 30 s.
        await using var services = builder.Services.BuildServiceProvider();

        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        AllocateAt(mongo, silent);
        Assert.Equal(HealthStatus.Unhealthy, await CheckHealthAsync(services, mongo));
    }

    private static void AllocateAt(ContainerResource server, TcpListener listener)
    {
        var endpoint = server.Annotations.OfType<EndpointAnnotation>().Single();
        endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port);
    }

    /// <summary>What WaitFor waits on: every health check of the resource, as Aspire runs them.</summary>
    private static async Task<HealthStatus> CheckHealthAsync(IServiceProvider services, IResource resource)
    {
        var checks = resource.Annotations.OfType<HealthCheckAnnotation>().Select(a => a.Key).ToHashSet();
        Assert.NotEmpty(checks);
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => checks.Contains(c.Name));
        return report.Status;
    }

    /// <summary>A broker's reply to the first request: its size, then the request's correlation id and error code 0.</summary>
    private static async Task AnswerOneRequestAsync(TcpListener broker)
    {
        using var client = await broker.AcceptTcpClientAsync();
        var stream = client.GetStream();
        var request = new byte[14];
        await stream.ReadExactlyAsync(request);
        await stream.WriteAsync((byte[])[0, 0, 0, 6, .. request.AsSpan(8, 4), 0, 0]);
    }

    // A database resource is waited for through its server in the dashboard's terms.
    private static string RootName(IResource resource) => resource is IResourceWithParent child ? RootName(child.Parent) : resource.Name;
}
