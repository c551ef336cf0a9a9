namespace StreamBets.AppHost.Infrastructure;

/// <summary>
/// The stores every service stands on, in whichever mode was chosen. Services ask for what they
/// need with <see cref="ServiceWiring"/>; the mode decides how it is provided.
/// </summary>
public sealed class StreamBetsInfrastructure
{
    private readonly Dictionary<string, IResourceBuilder<IResourceWithConnectionString>> _databases = [];
    private readonly Func<string, IResourceBuilder<IResourceWithConnectionString>>? _addContainerDatabase;

    private StreamBetsInfrastructure(
        InfrastructureMode mode,
        IResourceBuilder<IResourceWithConnectionString> postgres,
        IResourceBuilder<IResourceWithConnectionString> redis,
        IResourceBuilder<IResourceWithConnectionString> clickHouse,
        IResourceBuilder<IResourceWithConnectionString>? kafka,
        IResourceBuilder<IResourceWithConnectionString>? mongo,
        Func<string, IResourceBuilder<IResourceWithConnectionString>>? addContainerDatabase)
    {
        Mode = mode;
        Postgres = postgres;
        Redis = redis;
        ClickHouse = clickHouse;
        Kafka = kafka;
        Mongo = mongo;
        _addContainerDatabase = addContainerDatabase;
    }

    public InfrastructureMode Mode { get; }
    public IResourceBuilder<IResourceWithConnectionString> Postgres { get; }
    public IResourceBuilder<IResourceWithConnectionString> Redis { get; }
    public IResourceBuilder<IResourceWithConnectionString> ClickHouse { get; }

    /// <summary>The Kafka broker in container mode; local mode carries events over Redis Streams.</summary>
    public IResourceBuilder<IResourceWithConnectionString>? Kafka { get; }

    /// <summary>The MongoDB server in container mode; local mode keeps documents in PostgreSQL jsonb.</summary>
    public IResourceBuilder<IResourceWithConnectionString>? Mongo { get; }

    /// <summary>The container-mode database resource, created once per name; null in local mode, where each service creates its own database.</summary>
    internal IResourceBuilder<IResourceWithConnectionString>? ContainerDatabase(string name)
    {
        if (_addContainerDatabase is null)
        {
            return null;
        }
        if (!_databases.TryGetValue(name, out var database))
        {
            database = _addContainerDatabase(name);
            _databases[name] = database;
        }
        return database;
    }

    /// <summary>
    /// A service host that vanishes (no FIN, no RST) leaves its sessions, and the session-level locks they hold (the
    /// outbox relay's leader lock, a settlement's pool lock), on the server until its TCP keepalive gives up: about 2 h by
    /// Linux defaults, 2 min with these. A managed server in a deployment should set the same three parameters.
    /// </summary>
    public static readonly string[] PostgresKeepaliveArguments =
        ["-c", "tcp_keepalives_idle=60", "-c", "tcp_keepalives_interval=10", "-c", "tcp_keepalives_count=6"];

    /// <summary>MongoDB's root user in container mode; its password is the <c>mongo-password</c> parameter.</summary>
    public const string MongoUser = "streambets";

    public static StreamBetsInfrastructure Add(IDistributedApplicationBuilder builder)
    {
        var (mode, reason) = InfrastructureModeDetector.Detect(builder);
        Console.WriteLine($"StreamBets infrastructure: {mode} mode, because {reason}. Override with --{InfrastructureModeDetector.SettingName}=Local|Containers.");
        return mode == InfrastructureMode.Containers ? AddContainers(builder) : AddLocal(builder);
    }

    private static StreamBetsInfrastructure AddLocal(IDistributedApplicationBuilder builder)
    {
        LocalServers.RequireInstalled();
        var data = LocalServers.DataDirectory(builder);
        Console.WriteLine($"StreamBets local data: {data}. Reset it with --{LocalServers.ResetDataSetting}=true.");

        return new StreamBetsInfrastructure(
            InfrastructureMode.Local,
            postgres: builder.AddLocalPostgres("postgres", data),
            redis: builder.AddLocalRedis("redis", data),
            clickHouse: builder.AddLocalClickHouse("clickhouse", data),
            kafka: null,
            mongo: null,
            addContainerDatabase: null);
    }

    private static StreamBetsInfrastructure AddContainers(IDistributedApplicationBuilder builder)
    {
        var publishing = builder.ExecutionContext.IsPublishMode;
        var redis = builder.AddRedis("redis").WithDataVolume();

        // Kafka in KRaft mode: one node that is both broker and controller. The advertised listener is where clients
        // connect after their first contact: on a developer's machine the host port DCP publishes (the services run on
        // the host), in a deployment the container's own name (localhost there would be each client's own container).
        var kafka = builder.AddResource(new ServerContainerResource("kafka", "tcp"))
            .WithImage("apache/kafka", "4.1.0")
            .WithEndpoint(name: "tcp", scheme: "tcp", port: 9092, targetPort: 9092, isProxied: false)
            .WithEnvironment("KAFKA_NODE_ID", "1")
            .WithEnvironment("KAFKA_PROCESS_ROLES", "broker,controller")
            .WithEnvironment("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
            .WithEnvironment("KAFKA_ADVERTISED_LISTENERS", publishing ? "PLAINTEXT://kafka:9092" : "PLAINTEXT://localhost:9092")
            .WithEnvironment("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
            .WithEnvironment("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT")
            .WithEnvironment("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
            .WithEnvironment("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
            .WithEnvironment("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .WithEnvironment("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .WithEnvironment("KAFKA_NUM_PARTITIONS", "6")
            // The image keeps its log (every topic and committed offset) in /tmp unless told otherwise, so a restart
            // would lose events the outbox had already deleted as published.
            .WithEnvironment("KAFKA_LOG_DIRS", "/var/lib/kafka/data")
            .WithVolume("streambets-kafka-data", "/var/lib/kafka/data")
            .WithKafkaHealthCheck();

        // Pools' dynamic configuration (the rake) and templates live here: without a password anything in the deployment's
        // network could rewrite them past the admin API's validation and audit. The image creates the root user only when
        // its volume is empty (docs/runbook.md, "Deployment checks", says how to add it to an older volume).
        // Letters and digits only: it goes into the connection string's URL unescaped.
        var mongoPassword = builder.AddParameter("mongo-password", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
        var mongo = builder.AddResource(new ServerContainerResource("mongo", "tcp", "mongodb://")
            {
                Credentials = ReferenceExpression.Create($"{MongoUser}:{mongoPassword}"),
                ConnectionStringSuffix = "/?authSource=admin", // the root user lives in the admin database
            })
            .WithImage("mongo", "8.0")
            .WithEndpoint(name: "tcp", scheme: "tcp", targetPort: 27017)
            .WithEnvironment("MONGO_INITDB_ROOT_USERNAME", MongoUser)
            .WithEnvironment("MONGO_INITDB_ROOT_PASSWORD", mongoPassword)
            .WithVolume("streambets-mongo-data", "/data/db")
            .WithMongoHealthCheck();

        // Its default user stays open: Analytics reaches ClickHouse with an HttpClient on the connection string, which
        // drops a URL's user:password, so credentials there would lock Analytics out (docs/runbook.md, "Deployment checks").
        var clickHouse = builder.AddResource(new ServerContainerResource("clickhouse", "http", "http://"))
            .WithImage("clickhouse/clickhouse-server", "25.8")
            .WithHttpEndpoint(name: "http", targetPort: 8123)
            .WithEnvironment("CLICKHOUSE_SKIP_USER_SETUP", "1")
            .WithVolume("streambets-clickhouse-data", "/var/lib/clickhouse")
            .WithHttpHealthCheck("/ping", endpointName: "http");

        if (publishing)
        {
            // The ledger lives in PostgreSQL: a deployment uses a managed server (Azure Database for PostgreSQL), whose
            // connection string azd asks for once, not a container whose data volume (Azure Files) PostgreSQL cannot
            // even initialise on. Each service creates its own database on it at start-up, as in local mode.
            return new StreamBetsInfrastructure(
                InfrastructureMode.Containers,
                postgres: builder.AddConnectionString("postgres"),
                redis: redis,
                clickHouse: clickHouse,
                kafka: kafka,
                mongo: mongo,
                addContainerDatabase: null);
        }

        // 400 connections as in local mode: the image's 100 is less than the services' pools may open in a rush.
        var postgres = builder.AddPostgres("postgres").WithDataVolume().WithLifetime(ContainerLifetime.Persistent)
            .WithArgs(PostgresKeepaliveArguments).WithArgs("-c", "max_connections=400");
        return new StreamBetsInfrastructure(
            InfrastructureMode.Containers,
            postgres: postgres,
            redis: redis,
            clickHouse: clickHouse,
            kafka: kafka,
            mongo: mongo,
            addContainerDatabase: name => postgres.AddDatabase(name));
    }
}
