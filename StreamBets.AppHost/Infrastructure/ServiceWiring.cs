namespace StreamBets.AppHost.Infrastructure;

/// <summary>
/// How a service asks for a store. Each method gives the same <c>ConnectionStrings__*</c> names and
/// settings in both modes, so a service never knows which mode it runs in except through configuration.
/// </summary>
public static class ServiceWiring
{
    /// <summary>
    /// Aspire counts a project healthy as soon as its process runs, long before it listens (under load `dotnet run`
    /// alone can take a minute). A service's /health, stores included, is what says it can serve, so WaitFor, the
    /// dashboard and the tests wait for that.
    /// </summary>
    public static void CheckEveryServiceHealth(this IDistributedApplicationBuilder builder)
    {
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            builder.CreateResourceBuilder(project).WithHttpHealthCheck("/health", endpointName: "http");
        }
    }

    /// <summary>
    /// Every service runs in the AppHost's environment (Development under ./run.sh and the tests), so what is keyed on
    /// it (the local bootstrap admin, sandbox funding, the Scalar pages) follows the AppHost. Aspire takes a project's
    /// environment from its launch profile, and our services have none, so without this they would run as Production.
    /// </summary>
    public static void RunServicesInTheAppHostEnvironment(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return; // a deployment sets its own environment
        }
        var environment = builder.Environment.EnvironmentName;
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            project.Annotations.Add(new EnvironmentCallbackAnnotation(variables =>
            {
                variables["ASPNETCORE_ENVIRONMENT"] = environment;
                variables["DOTNET_ENVIRONMENT"] = environment;
            }));
        }
    }

    /// <summary>The service's own PostgreSQL database, as <c>ConnectionStrings__{database}</c>.</summary>
    public static IResourceBuilder<ProjectResource> WithDatabase(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure, string database)
    {
        var containerDatabase = infrastructure.ContainerDatabase(database);
        if (containerDatabase is not null)
        {
            return service.WithReference(containerDatabase).WaitFor(containerDatabase);
        }

        // Local mode and deployments: the server is shared and each service creates its own database at start-up.
        return service
            .WithEnvironment($"ConnectionStrings__{database}", ReferenceExpression.Create($"{infrastructure.Postgres.Resource.ConnectionStringExpression};Database={database}"))
            .WithRelationship(infrastructure.Postgres.Resource, "Reference")
            .WaitFor(infrastructure.Postgres);
    }

    public static IResourceBuilder<ProjectResource> WithRedis(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure) =>
        service.WithReference(infrastructure.Redis).WaitFor(infrastructure.Redis);

    public static IResourceBuilder<ProjectResource> WithClickHouse(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure) =>
        service.WithReference(infrastructure.ClickHouse).WaitFor(infrastructure.ClickHouse);

    /// <summary>Integration events: Kafka in container mode, Redis Streams in local mode (<c>Messaging__Transport</c>).</summary>
    public static IResourceBuilder<ProjectResource> WithEventBus(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure)
    {
        if (infrastructure.Kafka is { } kafka)
        {
            return service.WithReference(kafka).WaitFor(kafka).WithEnvironment("Messaging__Transport", "Kafka");
        }
        return service.WithRedis(infrastructure).WithEnvironment("Messaging__Transport", "RedisStreams");
    }

    /// <summary>Documents (templates, dynamic configuration, raw provider events): MongoDB in container mode, PostgreSQL jsonb in the service's own database in local mode.</summary>
    public static IResourceBuilder<ProjectResource> WithDocumentStore(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure)
    {
        if (infrastructure.Mongo is { } mongo)
        {
            return service.WithReference(mongo).WaitFor(mongo).WithEnvironment("Documents__Store", "MongoDB");
        }
        return service.WithEnvironment("Documents__Store", "Postgres");
    }

    /// <summary>Play-money deposits for players (<c>Wallet__SandboxDeposits</c>) in a local-mode run, whatever its environment
    /// (Users' Development settings turn them on in either mode; a deployment never has them).</summary>
    public static IResourceBuilder<ProjectResource> WithSandboxDepositsInLocalMode(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure) =>
        infrastructure.Mode == InfrastructureMode.Local ? service.WithEnvironment("Wallet__SandboxDeposits", "true") : service;
}
