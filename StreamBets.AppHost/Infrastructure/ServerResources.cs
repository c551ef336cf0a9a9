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
/// The connection string is <c>{prefix}{credentials@}host:port{suffix}</c> on its primary endpoint.
/// </summary>
public sealed class ServerContainerResource(string name, string primaryEndpoint, string connectionStringPrefix = "")
    : ContainerResource(name), IResourceWithConnectionString
{
    public EndpointReference PrimaryEndpoint => new(this, primaryEndpoint);

    /// <summary><c>user:password</c> for a server whose clients take them in the connection string (MongoDB).</summary>
    public ReferenceExpression? Credentials { get; init; }

    /// <summary>What follows <c>host:port</c>, such as MongoDB's <c>/?authSource=admin</c>.</summary>
    public string ConnectionStringSuffix { get; init; } = "";

    public ReferenceExpression ConnectionStringExpression
    {
        get
        {
            var connectionString = new ReferenceExpressionBuilder();
            connectionString.AppendLiteral(connectionStringPrefix);
            if (Credentials is { } credentials)
            {
                connectionString.Append($"{credentials}@");
            }
            connectionString.Append($"{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
            connectionString.AppendLiteral(ConnectionStringSuffix);
            return connectionString.Build();
        }
    }
}
