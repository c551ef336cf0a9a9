using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Messaging;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// The Pools service in process on Kestrel (REST on one port, gRPC over real HTTP/2 on another), with its own fresh
/// PostgreSQL database, its own Redis server (so a test may flush it) and a fake clock. The clock creeps forward with
/// real time, so the event bus's polling and the sweeper's 1 s ticks run; tests jump it forward to expire windows.
/// Triggers record, for every pool row change and outbox row, the id of the transaction that wrote it.
/// </summary>
public class PoolsApp : WebApplicationFactory<Program>, IAsyncLifetime, IPostgresTestDatabase
{
    private readonly CancellationTokenSource _stop = new();
    private RedisServer? _redis;
    private Task? _clockTicker;
    private GrpcChannel? _grpc;
    private int _httpPort, _grpcPort;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>What admins changed, as the service logged it.</summary>
    public AuditLog AuditLog { get; } = new(Apis.PoolsAdminApi.AuditCategory);
    public string ConnectionString { get; private set; } = "";
    public string RedisConnectionString => _redis!.ConnectionString;

    public GrpcChannel GrpcChannel => _grpc ??= GrpcChannel.ForAddress($"http://127.0.0.1:{_grpcPort}");

    public async Task InitializeAsync()
    {
        var postgres = await TestServers.PostgresAsync();
        ConnectionString = await postgres.CreateDatabaseAsync("pools");
        _redis = await TestServers.StartAsync(() => new RedisServer());
        (_httpPort, _grpcPort) = (InProcessServices.FreePort(), InProcessServices.FreePort());
        UseKestrel();
        StartServer();
        await ExecuteAsync(AuditSql);
        _clockTicker = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(20);
                Clock.Advance(TimeSpan.FromMilliseconds(20));
            }
        });
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_clockTicker is not null)
        {
            await _clockTicker;
        }

        _grpc?.Dispose();
        await base.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:poolsdb", ConnectionString);
        builder.UseSetting("ConnectionStrings:redis", RedisConnectionString);
        builder.UseSetting("Auth:PublicKey", TestTokens.Shared.PublicKey);
        builder.UseSetting("Documents:Store", "Postgres");
        builder.UseSetting("Messaging:Transport", "RedisStreams");
        builder.UseSetting("Messaging:RedisStreams:PartitionsPerTopic", "4");
        builder.UseSetting("Messaging:RedisStreams:LeaseDuration", "00:01:00");
        builder.UseSetting("Kestrel:Endpoints:http:Url", $"http://127.0.0.1:{_httpPort}");
        builder.UseSetting("Kestrel:Endpoints:grpc:Url", $"http://127.0.0.1:{_grpcPort}");
        builder.UseSetting("Kestrel:Endpoints:grpc:Protocols", "Http2");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting($"Logging:LogLevel:{Apis.PoolsAdminApi.AuditCategory}", "Information");
        builder.ConfigureLogging(logging => logging.AddProvider(AuditLog));
        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Clock));
    }

    public HttpClient ClientFor(Guid userId, string role)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_httpPort}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(userId, role));
        return client;
    }

    public HttpClient AnonymousClient() => new() { BaseAddress = new Uri($"http://127.0.0.1:{_httpPort}") };

    /// <summary>
    /// A streamer whose channels an operator has linked to them: before each pool it opens (POST /api/pools), the
    /// client links the request's channel to this streamer through the admin API, as an operator would have. Tests of
    /// the ownership rule itself use <see cref="ClientFor"/> with the streamer role, which links nothing.
    /// </summary>
    public HttpClient NewStreamer(out Guid streamerId)
    {
        streamerId = Guid.NewGuid();
        var client = new HttpClient(new LinksChannelsFirst(this, streamerId) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{_httpPort}"),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(streamerId, "streamer"));
        return client;
    }

    private sealed class LinksChannelsFirst(PoolsApp app, Guid streamerId) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.TrimEnd('/') == "/api/pools" && request.Content is { } content)
            {
                await content.LoadIntoBufferAsync(cancellationToken);
                var body = JsonFrom(await content.ReadAsStringAsync(cancellationToken));
                if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("channel", out var channel) && channel.ValueKind == JsonValueKind.Object
                    && channel.TryGetProperty("provider", out var provider) && channel.TryGetProperty("channelId", out var channelId)
                    && provider.ValueKind == JsonValueKind.String && channelId.ValueKind == JsonValueKind.String)
                {
                    // A channel the API refuses stays unlinked; the create then answers for it.
                    using var admin = app.Admin();
                    using var _ = await admin.PutAsJsonAsync(
                        $"/api/pools/admin/channels/{Uri.EscapeDataString(provider.GetString()!)}/{Uri.EscapeDataString(channelId.GetString()!)}",
                        new { ownerId = streamerId }, cancellationToken);
                }
            }
            return await base.SendAsync(request, cancellationToken);
        }

        // Malformed bodies go through untouched: the tests of bad JSON send them on purpose.
        private static JsonElement JsonFrom(string text)
        {
            try
            {
                return JsonDocument.Parse(text).RootElement;
            }
            catch (JsonException)
            {
                return default;
            }
        }
    }

    public HttpClient Admin() => ClientFor(Guid.NewGuid(), "admin");

    public HttpClient Player() => ClientFor(Guid.NewGuid(), "player");

    /// <summary>Writes integration events into the service's own outbox, as the BetEngine or Settlement would publish them.</summary>
    public async Task PublishAsync(params IIntegrationEvent[] events)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Services.GetRequiredService<IOutbox>().AddRangeAsync(transaction, events);
        await transaction.CommitAsync();
    }

    public async Task<T?> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The pool events written for one pool, in commit order: (CloudEvents type, writing transaction, envelope data).</summary>
    public Task<List<AuditedEvent>> EventsAsync(Guid poolId) => EventsAsync(poolId.ToString());

    /// <summary>The events written under one key (a pool id, a channel such as "twitch:streamer1"), in commit order.</summary>
    public async Task<List<AuditedEvent>> EventsAsync(string key)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT event_type, txid, envelope::text FROM test_outbox_audit WHERE partition_key = $1 ORDER BY position", connection);
        command.Parameters.AddWithValue(key);
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<AuditedEvent>();
        while (await reader.ReadAsync())
        {
            var envelope = JsonDocument.Parse(reader.GetString(2)).RootElement;
            var traceParent = envelope.TryGetProperty("traceparent", out var value) ? value.GetString() : null;
            events.Add(new AuditedEvent(reader.GetString(0), reader.GetInt64(1), envelope.GetProperty("data").Clone(), traceParent));
        }

        return events;
    }

    /// <summary>The transactions that wrote the pool row, one per change: (state written, transaction).</summary>
    public async Task<List<(string State, long TxId)>> PoolWritesAsync(Guid poolId)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT state, txid FROM test_pool_audit WHERE pool_id = $1 ORDER BY seq", connection);
        command.Parameters.AddWithValue(poolId);
        await using var reader = await command.ExecuteReaderAsync();
        var writes = new List<(string, long)>();
        while (await reader.ReadAsync())
        {
            writes.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return writes;
    }

    /// <summary>Kills this app's Redis and starts it again on its port and data (its append-only file), as a crash would.</summary>
    public async Task RestartRedisAsync()
    {
        await _redis!.StopAsync();
        await _redis.StartAsync();
    }

    public static Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan? timeout = null) =>
        Eventually.HoldsAsync(condition, timeout ?? TimeSpan.FromSeconds(60));

    private static string Token(Guid userId, string role) => TestTokens.Shared.Token(userId, role);

    // Trigger audit: outbox rows are deleted once relayed, so a copy with the writing transaction id stays for the assertions.
    private const string AuditSql = """
        CREATE TABLE test_outbox_audit (position bigint, event_type text, partition_key text, envelope json, txid bigint);
        CREATE TABLE test_pool_audit (seq bigserial, pool_id uuid, state text, txid bigint);
        CREATE FUNCTION test_audit_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO test_outbox_audit VALUES (NEW.position, NEW.event_type, NEW.partition_key, NEW.envelope, txid_current());
            RETURN NEW;
        END $$;
        CREATE FUNCTION test_audit_pool() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO test_pool_audit (pool_id, state, txid) VALUES (NEW.id, NEW.state, txid_current());
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_audit_outbox AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION test_audit_outbox();
        CREATE TRIGGER test_audit_pool AFTER INSERT OR UPDATE ON pools FOR EACH ROW EXECUTE FUNCTION test_audit_pool();
        """;
}

public sealed record AuditedEvent(string Type, long TxId, JsonElement Data, string? TraceParent);

/// <summary>Requests and the JSON shapes tests read back.</summary>
public static class Requests
{
    public static object Pool(string channelId, string title = "Will I win this round?", string[]? outcomes = null, int window = 120, string provider = "twitch") => new
    {
        channel = new { provider, channelId },
        title,
        outcomes = outcomes ?? ["Yes", "No", "Draw"],
        bettingWindowSeconds = window,
    };

    public static string NewChannel() => $"ch{Guid.NewGuid():N}"[..16];

    public static async Task<PoolJson> CreatePoolAsync(this HttpClient client, object request)
    {
        var response = await client.PostAsJsonAsync("/api/pools", request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PoolJson>())!;
    }

    public static async Task<HttpResponseMessage> ActAsync(this HttpClient client, Guid poolId, string action, object? body = null) =>
        await client.PostAsJsonAsync($"/api/pools/{poolId}/{action}", body ?? new { });

    public static async Task<PoolJson> GetPoolAsync(this HttpClient client, Guid poolId) =>
        (await client.GetFromJsonAsync<PoolJson>($"/api/pools/{poolId}"))!;

    /// <summary>GETs <paramref name="url"/> and asserts a validation problem that names exactly <paramref name="field"/>.</summary>
    public static async Task AssertInvalidAsync(this HttpClient client, string url, string field)
    {
        var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([field], (await response.ProblemAsync()).Errors!.Keys);
    }

    public static async Task<ProblemJson> ProblemAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<ProblemJson>())!;

    /// <summary>Replaces the pools configuration as an admin who has just read it: at the version it is at now.</summary>
    public static async Task<HttpResponseMessage> PutConfigAsync(this HttpClient admin, object settings) =>
        await admin.PutConfigAsync(settings, await admin.ConfigVersionAsync());

    public static Task<HttpResponseMessage> PutConfigAsync(this HttpClient admin, object settings, string? version)
    {
        var body = JsonSerializer.SerializeToNode(settings, JsonSerializerOptions.Web)!.AsObject();
        body["version"] = version;
        return admin.PutAsJsonAsync("/api/pools/admin/config", body);
    }

    public static async Task<string?> ConfigVersionAsync(this HttpClient admin) =>
        (await admin.GetFromJsonAsync<JsonElement>("/api/pools/admin/config")).TryGetProperty("version", out var version) ? version.GetString() : null;
}

public sealed record OutcomeJson(Guid Id, string Label, long StakedMinor, int BetCount, decimal? ReturnPerUnit);

public sealed record ChannelJson(string Provider, string ChannelId);

public sealed record PoolJson(
    Guid Id, ChannelJson Channel, Guid CreatedBy, string? TemplateId, string Title, string State, bool BettingOpen, OutcomeJson[] Outcomes,
    long TotalStakedMinor, long MinStakeMinor, long MaxStakeMinor, int RakeBasisPoints, int BettingWindowSeconds, DateTimeOffset CreatedAt,
    DateTimeOffset? OpenedAt, DateTimeOffset? LocksAt, DateTimeOffset? LockedAt, DateTimeOffset? ClosedAt, Guid[] WinningOutcomeIds,
    string? CancellationReason, string? Settlement, DateTimeOffset? SettledAt, int Version);

public sealed record ProblemJson(string? Type, string? Title, int? Status, string? Detail, Dictionary<string, string[]>? Errors);
