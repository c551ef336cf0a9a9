using System.Net.Http.Headers;
using System.Net.Http.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using StackExchange.Redis;
using System.Text.Json;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Contracts.Users;
using StreamBets.Testing;
using StreamBets.Users.Accounts;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Tests;

public sealed record TestPlayer(Guid Id, string Email, string Password, TokenResponse Tokens, HttpClient Client);

/// <summary>
/// The Users service in process, on its own fresh PostgreSQL database and the shared test Redis, with a fake
/// clock and the sandbox KYC provider. One per test class; its tests share the clock, so they only move it forward.
/// </summary>
public class AccountsTestApp : WebApplicationFactory<Program>, IAsyncLifetime, IPostgresTestDatabase
{
    public const string SandboxWebhookToken = "sandbox-webhook-token-for-tests";
    public const string AdminEmail = "admin@streambets.test";
    public const string AdminPassword = "admin-password-for-tests";
    public static readonly TimeSpan SandboxDelay = TimeSpan.FromSeconds(30);

    private static int _cpfSequence = Random.Shared.Next(100_000_000, 900_000_000);
    private GrpcChannel? _channel;

    /// <summary>Starts at a whole millisecond, so times survive PostgreSQL's microsecond precision unchanged.</summary>
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
    public string ConnectionString { get; private set; } = "";

    /// <summary>How many connections the service's pool holds: more requests at once than this must queue, not starve it.</summary>
    public int MaxPoolSize => new NpgsqlConnectionStringBuilder(ConnectionString).MaxPoolSize;
    public string RedisConnectionString { get; private set; } = "";

    /// <summary>This app's own Redis Streams key prefix, so the events it publishes are its alone.</summary>
    public string BusPrefix { get; } = $"users-accounts-tests-{Guid.NewGuid():N}";

    public UserAccounts.UserAccountsClient Grpc => new(_channel ??= GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
    {
        HttpHandler = new Http2ResponseHandler(Server.CreateHandler()),
    }));

    public async Task InitializeAsync()
    {
        var postgres = await TestServers.PostgresAsync();
        ConnectionString = await postgres.CreateDatabaseAsync("users");
        RedisConnectionString = (await TestServers.RedisAsync()).ConnectionString;
        _ = Server; // Starts the host: the schema is migrated and the bootstrap admin created before the first test.
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        _channel?.Dispose();
        await base.DisposeAsync();
    }

    protected virtual IEnumerable<KeyValuePair<string, string>> Settings() =>
    [
        new("ConnectionStrings:usersdb", ConnectionString),
        new("ConnectionStrings:redis", RedisConnectionString),
        new("Auth:SigningKey", TestTokens.Shared.PrivateKey),
        new("Auth:PublicKey", TestTokens.Shared.PublicKey),
        new("Kyc:Provider", "sandbox"),
        new("Kyc:Sandbox:WebhookToken", SandboxWebhookToken),
        new("Kyc:Sandbox:CompletionDelay", SandboxDelay.ToString()),
        new("Kyc:Sandbox:PollInterval", "00:00:01"),
        new("Users:BootstrapAdmin:Email", AdminEmail),
        new("Users:BootstrapAdmin:Password", AdminPassword),
        new("Messaging:RedisStreams:KeyPrefix", BusPrefix),
        new("Logging:LogLevel:Default", "Warning"),
    ];

    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in Settings())
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            // The same PBKDF2 hasher, with fewer rounds than production's 100,000: these tests sign in hundreds of times.
            services.Configure<PasswordHasherOptions>(options => options.IterationCount = 1_000);
            ConfigureServices(services);
        });
    }

    /// <summary>A fresh valid CPF, so players never collide on the one-account-per-document rule.</summary>
    public static string NextCpf() => Cpf.WithCheckDigits(Interlocked.Increment(ref _cpfSequence).ToString("D9", System.Globalization.CultureInfo.InvariantCulture));

    public static string NewEmail(string prefix = "player") => $"{prefix}-{Guid.NewGuid():N}@example.com";

    public static object Registration(string email, string country = "BR", string? cpf = null, string dateOfBirth = "1990-05-17", string password = "correct-horse-battery") => new
    {
        email,
        password,
        displayName = "Test Player",
        dateOfBirth,
        country,
        cpf = country == "BR" ? cpf ?? NextCpf() : cpf,
    };

    /// <summary>Registers and signs in a player: Brazilian (KYC tier 1 through the CPF) unless another country is given (tier 0).</summary>
    public async Task<TestPlayer> NewPlayerAsync(string country = "BR")
    {
        var email = NewEmail();
        const string password = "correct-horse-battery";
        using var anonymous = CreateClient();
        var registered = await anonymous.PostAsJsonAsync("/api/users/register", Registration(email, country, password: password));
        registered.EnsureSuccessStatusCode();
        var tokens = await LoginAsync(email, password);
        return new TestPlayer(tokens.UserId, email, password, tokens, ClientFor(tokens.AccessToken));
    }

    public async Task<TokenResponse> LoginAsync(string email, string password)
    {
        using var anonymous = CreateClient();
        var response = await anonymous.PostAsJsonAsync("/api/users/login", new { email, password });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TokenResponse>())!;
    }

    /// <summary>One sign-in attempt from a client network as the gateway names it (<see cref="LoginSource.Header"/>), or from none.</summary>
    public static async Task<HttpResponseMessage> AttemptLoginAsync(HttpClient client, string email, string password, string? network = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login") { Content = JsonContent.Create(new { email, password }) };
        if (network is not null)
        {
            request.Headers.Add(LoginSource.Header, network);
        }
        return await client.SendAsync(request);
    }

    /// <summary>
    /// Fails sign-in to the email from as many networks as it takes to reach the ceiling across networks
    /// (<see cref="AuthOptions.MaxFailedLoginsPerEmail"/>), each staying under its own limit: the email is then locked from
    /// everywhere. Answers the last attempt's status.
    /// </summary>
    public async Task<System.Net.HttpStatusCode> LockSignInEverywhereAsync(string email)
    {
        var options = Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value;
        var perNetwork = options.MaxFailedLogins - 1;
        using var client = CreateClient();
        var last = System.Net.HttpStatusCode.OK;
        for (var failure = 0; failure < options.MaxFailedLoginsPerEmail; failure++)
        {
            last = (await AttemptLoginAsync(client, email, "a-wrong-password", $"ip:198.51.100.{failure / perNetwork}")).StatusCode;
        }
        return last;
    }

    public async Task<HttpClient> AdminClientAsync() => ClientFor((await LoginAsync(AdminEmail, AdminPassword)).AccessToken);

    public HttpClient ClientFor(string accessToken)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
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

    /// <summary>
    /// The types of the events about one user that the outbox relay has published to the bus (the "users" topic),
    /// in publish order, once at least <paramref name="atLeast"/> have arrived or after a few seconds.
    /// </summary>
    public async Task<IReadOnlyList<string>> PublishedEventTypesAsync(Guid userId, int atLeast) =>
        [.. (await PublishedEventsAsync(userId, events => events.Count >= atLeast)).Select(e => e.Type)];

    /// <summary>The events about one user on the bus (type and traceparent), once <paramref name="enough"/> holds or after a few seconds.</summary>
    public async Task<IReadOnlyList<(string Type, string? TraceParent)>> PublishedEventsAsync(
        Guid userId, Func<IReadOnlyList<(string Type, string? TraceParent)>, bool> enough) =>
        [.. (await PublishedCloudEventsAsync(userId, cloudEvents => enough([.. cloudEvents.Select(TypeAndTraceParent)]))).Select(TypeAndTraceParent)];

    /// <summary>
    /// The events of type <typeparamref name="TEvent"/> about one user on the bus, in publish order, once at least
    /// <paramref name="atLeast"/> have arrived or after a few seconds.
    /// </summary>
    public async Task<IReadOnlyList<TEvent>> PublishedEventsAsync<TEvent>(Guid userId, int atLeast) where TEvent : IIntegrationEvent
    {
        var type = IntegrationEventMetadata.Of<TEvent>().Type;
        return [.. (await PublishedCloudEventsAsync(userId, cloudEvents => cloudEvents.Count(e => TypeAndTraceParent(e).Type == type) >= atLeast))
            .Where(e => TypeAndTraceParent(e).Type == type)
            .Select(e => e.GetProperty("data").Deserialize<TEvent>(JsonSerializerOptions.Web)!)];
    }

    private static (string Type, string? TraceParent) TypeAndTraceParent(JsonElement cloudEvent) =>
        (cloudEvent.GetProperty("type").GetString()!, cloudEvent.TryGetProperty("traceparent", out var traceParent) ? traceParent.GetString() : null);

    /// <summary>The CloudEvents about one user on the "users" topic, in publish order, once <paramref name="enough"/> holds or after a few seconds.</summary>
    private async Task<List<JsonElement>> PublishedCloudEventsAsync(Guid userId, Func<IReadOnlyList<JsonElement>, bool> enough)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(RedisConnectionString);
        var database = redis.GetDatabase();
        var events = new List<JsonElement>();
        for (var attempt = 0; attempt < 50; attempt++)
        {
            events.Clear();
            foreach (var key in await RedisStreamKeysAsync(redis, $"{BusPrefix}:users:*"))
            {
                foreach (var entry in await database.StreamRangeAsync(key))
                {
                    var cloudEvent = JsonDocument.Parse((string)entry["ce"]!).RootElement;
                    if (cloudEvent.GetProperty("subject").GetString() == userId.ToString())
                    {
                        events.Add(cloudEvent);
                    }
                }
            }
            if (enough(events))
            {
                break;
            }
            await Task.Delay(100);
        }
        return events;
    }

    private static async Task<List<RedisKey>> RedisStreamKeysAsync(ConnectionMultiplexer redis, string pattern)
    {
        var keys = new List<RedisKey>();
        await foreach (var key in redis.GetServers()[0].KeysAsync(pattern: pattern))
        {
            keys.Add(key);
        }
        return keys;
    }

    /// <summary>Moves the fake clock in steps until the condition holds, for background work driven by timers.</summary>
    public async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan step, int attempts = 50)
    {
        for (var i = 0; i < attempts; i++)
        {
            if (await condition())
            {
                return true;
            }
            Clock.Advance(step);
            await Task.Delay(100);
        }
        return await condition();
    }
}
