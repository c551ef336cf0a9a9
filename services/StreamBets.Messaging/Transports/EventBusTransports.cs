using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamBets.Messaging.Consuming;
using StreamBets.Messaging.Outbox;
using StreamBets.Messaging.Transports;
using StreamBets.Messaging.Transports.Kafka;
using StreamBets.Messaging.Transports.RedisStreams;

namespace StreamBets.Messaging;

/// <summary>Registers the transport named by <c>Messaging:Transport</c>, the relay (when there is a database) and the consumers.</summary>
internal static class EventBusTransports
{
    /// <summary>The connection names the transports read: "redis" (host:port) and "kafka" (bootstrap servers).</summary>
    public const string RedisConnectionName = "redis";
    public const string KafkaConnectionName = "kafka";

    public static void Add(IHostApplicationBuilder builder, EventBusOptions options, bool hasDatabase)
    {
        var services = builder.Services;
        switch (options.Transport)
        {
            case MessagingTransport.RedisStreams:
                // The bus's own multiplexer (keyed "redis"), so a service's cache traffic never queues behind the bus.
                // Per-command tracing is off: partition polling would flood the traces with XREADGROUP spans.
                // Reconnect quickly after an outage (the default backs off to several seconds), and never fail at start-up:
                // the outbox keeps the events until Redis answers.
                builder.AddKeyedRedisClient(RedisConnectionName, settings => settings.DisableTracing = true, redis =>
                {
                    redis.AbortOnConnectFail = false;
                    redis.ReconnectRetryPolicy = new LinearRetry(500);
                });
                services.AddSingleton<IEventPublisher>(sp => new RedisStreamsPublisher(
                    sp.GetRequiredKeyedService<IConnectionMultiplexer>(RedisConnectionName), options.RedisStreams));
                services.AddSingleton<IEventConsumer>(sp => new RedisStreamsConsumer(
                    sp.GetRequiredKeyedService<IConnectionMultiplexer>(RedisConnectionName), options, sp.GetRequiredService<EventBusIdentity>(),
                    sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisStreamsConsumer>>()));
                services.AddSingleton<IConsumerLagSource>(sp => new RedisStreamsConsumerLag(
                    sp.GetRequiredKeyedService<IConnectionMultiplexer>(RedisConnectionName), options, sp.GetRequiredService<EventBusIdentity>()));
                break;

            case MessagingTransport.Kafka:
                var bootstrapServers = builder.Configuration.GetConnectionString(KafkaConnectionName)
                    ?? throw new InvalidOperationException($"Messaging:Transport is Kafka but ConnectionStrings:{KafkaConnectionName} is not configured.");
                var topics = new KafkaTopics(bootstrapServers, options.Kafka);
                services.AddSingleton<IEventPublisher>(_ => new KafkaPublisher(bootstrapServers, options.Kafka, topics));
                services.AddSingleton<IEventConsumer>(sp => new KafkaConsumer(
                    bootstrapServers, options.Kafka, topics, sp.GetRequiredService<EventBusIdentity>(), sp.GetRequiredService<ILogger<KafkaConsumer>>()));
                services.AddSingleton<IConsumerLagSource>(sp => new KafkaConsumerLag(bootstrapServers, topics, sp.GetRequiredService<EventBusIdentity>()));
                break;

            default:
                throw new InvalidOperationException($"Unknown Messaging:Transport '{options.Transport}'; use RedisStreams or Kafka.");
        }

        services.AddSingleton<EventDispatcher>();
        if (hasDatabase)
        {
            services.AddSingleton<OutboxRelay>();
            services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());
        }
        services.AddHostedService<EventConsumerService>();
        services.AddHostedService<ConsumerLagMonitor>();
    }
}
