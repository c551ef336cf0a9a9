namespace StreamBets.AppHost.Infrastructure;

/// <summary>
/// A server process from the machine's packages (local mode). DCP allocates its port and passes it as an argument;
/// the connection string is <c>{prefix}host:port{suffix}</c> on its primary endpoint.
/// </summary>
public sealed class LocalServerResource(string name, string command, string workingDirectory, string primaryEndpoint, string connectionStringPrefix = "", string connectionStringSuffix = "")
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public EndpointReference PrimaryEndpoint => new(this, primaryEndpoint);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{connectionStringPrefix}{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}{connectionStringSuffix}");
}

/// <summary>
/// A server container with no Aspire hosting package served here (Kafka, MongoDB, ClickHouse).
/// The connection string is <c>{prefix}host:port</c> on its primary endpoint.
/// </summary>
public sealed class ServerContainerResource(string name, string primaryEndpoint, string connectionStringPrefix = "")
    : ContainerResource(name), IResourceWithConnectionString
{
    public EndpointReference PrimaryEndpoint => new(this, primaryEndpoint);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{connectionStringPrefix}{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
}
