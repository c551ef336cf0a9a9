using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MongoDB.Bson;
using MongoDB.Driver;

namespace StreamBets.AppHost.Infrastructure;

/// <summary>
/// Health checks of the Kafka and MongoDB containers, so that a service's WaitFor waits until they serve, not merely
/// until their container runs (services started before Kafka listened restarted their consumers and logged failed publishes).
/// </summary>
public static class ServerHealthChecks
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    // ApiVersions v0, the request every client sends first: size 10, api key 18, version 0, correlation id 1, null client id.
    private static readonly byte[] ApiVersionsRequest = [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF];

    /// <summary>
    /// Kafka binds its port well before it serves (it starts accepting once the broker has caught up with its metadata), so
    /// a TCP connect says too little: the check sends ApiVersions. Any answer means the broker handles requests.
    /// </summary>
    public static IResourceBuilder<ServerContainerResource> WithKafkaHealthCheck(this IResourceBuilder<ServerContainerResource> kafka)
    {
        var healthCheck = $"{kafka.Resource.Name}-api-versions";
        kafka.ApplicationBuilder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, async cancellationToken =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                var endpoint = kafka.Resource.PrimaryEndpoint;
                using var client = new TcpClient();
                await client.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token);
                var stream = client.GetStream();
                await stream.WriteAsync(ApiVersionsRequest, timeout.Token);
                var answer = new byte[8]; // size, correlation id
                await stream.ReadExactlyAsync(answer, timeout.Token);
                return BinaryPrimitives.ReadInt32BigEndian(answer.AsSpan(4)) == 1
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy("Kafka answered ApiVersions with another correlation id.");
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidOperationException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return HealthCheckResult.Unhealthy("Kafka is not answering requests yet.", e);
            }
        });
        return kafka.WithHealthCheck(healthCheck);
    }

    /// <summary>A ping over the services' own connection string, so wrong credentials show here too, not only in Pools' logs.</summary>
    public static IResourceBuilder<ServerContainerResource> WithMongoHealthCheck(this IResourceBuilder<ServerContainerResource> mongo)
    {
        var healthCheck = $"{mongo.Resource.Name}-ping";
        mongo.ApplicationBuilder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, async cancellationToken =>
        {
            try
            {
                var settings = MongoClientSettings.FromConnectionString(await mongo.Resource.ConnectionStringExpression.GetValueAsync(cancellationToken));
                settings.ServerSelectionTimeout = Timeout;
                settings.ConnectTimeout = Timeout;
                using var client = new MongoClient(settings);
                await client.GetDatabase("admin").RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e) when (e is MongoException or TimeoutException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy("MongoDB is not answering ping yet.", e);
            }
        });
        return mongo.WithHealthCheck(healthCheck);
    }
}
