namespace StreamBets.AppHost.Infrastructure;

/// <summary>
/// How a service asks for a store. Each method gives the same <c>ConnectionStrings__*</c> names and
/// settings in both modes, so a service never knows which mode it runs in except through configuration.
/// </summary>
public static class ServiceWiring
{
    /// <summary>The service's own PostgreSQL database, as <c>ConnectionStrings__{database}</c>.</summary>
    public static IResourceBuilder<ProjectResource> WithDatabase(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure, string database)
    {
        var containerDatabase = infrastructure.ContainerDatabase(database);
        if (containerDatabase is not null)
        {
            return service.WithReference(containerDatabase).WaitFor(containerDatabase);
        }

        // Local mode: the server is shared and each service creates its own database at start-up.
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

    /// <summary>Play-money deposits for players (<c>Wallet__SandboxDeposits</c>) in local mode only, where no real payment provider exists.</summary>
    public static IResourceBuilder<ProjectResource> WithSandboxDepositsInLocalMode(this IResourceBuilder<ProjectResource> service, StreamBetsInfrastructure infrastructure) =>
        infrastructure.Mode == InfrastructureMode.Local ? service.WithEnvironment("Wallet__SandboxDeposits", "true") : service;
}
