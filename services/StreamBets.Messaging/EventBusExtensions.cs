using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging.Consuming;
using StreamBets.Messaging.Outbox;

namespace StreamBets.Messaging;

/// <summary>Declares a service's place on the bus: <c>builder.AddEventBus("poolsdb").AddSubscription&lt;BetsPlaced, BetsPlacedHandler&gt;();</c></summary>
public interface IEventBusBuilder
{
    IServiceCollection Services { get; }

    /// <summary>Handles <typeparamref name="TEvent"/> in this service's consumer group (one group per service, shared by its replicas).</summary>
    IEventBusBuilder AddSubscription<TEvent, THandler>()
        where TEvent : IIntegrationEvent
        where THandler : class, IIntegrationEventHandler<TEvent>;
}

public static class EventBusExtensions
{
    /// <summary>
    /// Registers the event bus: the outbox (<see cref="IOutbox"/>) and its relay, the consumers of the subscriptions,
    /// and the transport chosen by <c>Messaging:Transport</c> (RedisStreams with connection string "redis", or Kafka
    /// with "kafka"). The outbox and inbox tables are created in the database <paramref name="connectionName"/>.
    /// </summary>
    /// <param name="connectionName">The service's PostgreSQL connection name ("usersdb"), or null for a service without a
    /// database: it can only consume, and its handlers must be idempotent on their own (no inbox).</param>
    public static IEventBusBuilder AddEventBus(this IHostApplicationBuilder builder, string? connectionName, Action<EventBusOptions>? configure = null)
    {
        var options = new EventBusOptions();
        builder.Configuration.GetSection(EventBusOptions.SectionName).Bind(options);
        if (string.IsNullOrWhiteSpace(options.ServiceName))
        {
            options.ServiceName = DefaultServiceName(builder.Environment.ApplicationName);
        }
        configure?.Invoke(options);

        var services = builder.Services;
        var identity = new EventBusIdentity(options.ServiceName);
        services.AddSingleton(options);
        services.AddSingleton(options.Relay);
        services.AddSingleton(options.RedisStreams);
        services.AddSingleton(options.Kafka);
        services.AddSingleton(identity);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<OutboxSignal>();

        if (connectionName is not null)
        {
            var connectionString = builder.Configuration.GetConnectionString(connectionName)
                ?? throw new InvalidOperationException($"ConnectionStrings:{connectionName} is not configured.");
            // The outbox and inbox tables come from this library's own embedded scripts.
            builder.AddPostgresSchema(connectionName, typeof(EventBusExtensions).Assembly);
            // A factory, not an instance: the container disposes what it created, so a stopped host closes its connections.
            services.AddSingleton(_ => new MessagingDatabase(connectionString));
            services.AddSingleton<IOutbox, TransactionalOutbox>();
        }

        var subscriptions = new SubscriptionCatalog();
        services.AddSingleton(subscriptions);
        EventBusTransports.Add(builder, options, connectionName is not null);
        return new EventBusBuilder(services, subscriptions, connectionName is not null);
    }

    /// <summary>"StreamBets.Settlement" becomes "settlement".</summary>
    internal static string DefaultServiceName(string applicationName)
    {
        var name = applicationName.StartsWith("StreamBets.", StringComparison.OrdinalIgnoreCase) ? applicationName["StreamBets.".Length..] : applicationName;
        return name.ToLowerInvariant();
    }

    private sealed class EventBusBuilder(IServiceCollection services, SubscriptionCatalog subscriptions, bool hasDatabase) : IEventBusBuilder
    {
        public IServiceCollection Services => services;

        public bool HasDatabase => hasDatabase;

        public IEventBusBuilder AddSubscription<TEvent, THandler>()
            where TEvent : IIntegrationEvent
            where THandler : class, IIntegrationEventHandler<TEvent>
        {
            services.TryAddScoped<THandler>();
            subscriptions.Add<TEvent, THandler>();
            return this;
        }
    }
}

/// <summary>The bus's own connection pool to the service database (outbox relay, inbox transactions).</summary>
internal sealed class MessagingDatabase(string connectionString) : IAsyncDisposable
{
    public NpgsqlDataSource DataSource { get; } = NpgsqlDataSource.Create(connectionString);

    /// <summary>
    /// Unpooled sessions for the relay's leader lock. A session advisory lock (and a LISTEN) outlives a connection's
    /// return to a pool, since Npgsql resets a pooled connection only when it is next used: closing an unpooled
    /// session ends the backend, so PostgreSQL releases the lock at once whatever state the session was in, with no
    /// unlock statement that could fail or be skipped.
    /// <para>
    /// Npgsql's keepalive makes the idle session (the leader only waits for NOTIFYs on it) send a query every 10 s and
    /// break when no answer comes within 10 s more. Without it, a session a NAT or load balancer dropped in silence
    /// left the leader waiting forever, still publishing, while PostgreSQL released the lock to another replica. TCP
    /// keepalive alone would not do: a proxy in the path (PgBouncer, a sidecar) answers its probes for a dead backend.
    /// The server's side has TCP keepalives and a user timeout of its own, so its backend, and the lock, go within about
    /// 25 s of the client vanishing: with the kernel's defaults it kept the lock for 15 minutes to 2 hours, no replica
    /// leading while the one that broke off stopped.
    /// </para>
    /// </summary>
    public NpgsqlDataSource LockSessions { get; } = new NpgsqlDataSourceBuilder(connectionString)
    {
        ConnectionStringBuilder =
        {
            Pooling = false,
            KeepAlive = 10,
            Options = ServerSideKeepalives(new NpgsqlConnectionStringBuilder(connectionString).Options),
        },
    }.Build();

    /// <summary>Settings any user may set for their own session; ignored on a Unix socket (no peer to lose).</summary>
    internal static string ServerSideKeepalives(string? options) =>
        $"{options} -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3 -c tcp_user_timeout=20000".TrimStart();

    public async ValueTask DisposeAsync()
    {
        await LockSessions.DisposeAsync();
        await DataSource.DisposeAsync();
    }
}
