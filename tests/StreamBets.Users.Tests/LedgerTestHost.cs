using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using StreamBets.Contracts.Wallet;
using StreamBets.Testing;
using StreamBets.Users.Ledger;

namespace StreamBets.Users.Tests;

/// <summary>
/// The Users service in-process (TestServer) on its own fresh database, reached over REST and gRPC,
/// with tokens signed by the test run's token key (<see cref="TestTokens"/>).
/// </summary>
public sealed class LedgerTestHost : IAsyncLifetime
{
    private WebApplicationFactory<Program> _factory = null!;
    private GrpcChannel _channel = null!;

    public string ConnectionString { get; private set; } = "";
    public string RedisConnectionString { get; private set; } = "";

    /// <summary>This host's own Redis Streams key prefix, so its published events are its alone.</summary>
    public string BusPrefix { get; } = $"ledger-tests-{Guid.NewGuid():N}";
    public NpgsqlDataSource DataSource { get; private set; } = null!;
    public Wallet.WalletClient Wallet { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var postgres = await TestServers.PostgresAsync();
        var redis = await TestServers.RedisAsync();
        RedisConnectionString = redis.ConnectionString;
        ConnectionString = await postgres.CreateDatabaseAsync("users");
        await LedgerTestDatabase.RelaxDurabilityAsync(ConnectionString);
        DataSource = NpgsqlDataSource.Create(ConnectionString);

        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment(Environments.Development);
            web.UseSetting("ConnectionStrings:usersdb", ConnectionString);
            web.UseSetting("ConnectionStrings:redis", redis.ConnectionString);
            web.UseSetting("Auth:SigningKey", TestTokens.Shared.PrivateKey);
            web.UseSetting("Auth:PublicKey", TestTokens.Shared.PublicKey);
            web.UseSetting(Apis.WalletApi.SandboxFundingSetting, "true");
            web.UseSetting("Messaging:RedisStreams:KeyPrefix", BusPrefix);
        });
        // Starts the host, which migrates the database before the first request.
        _factory.Server.PreserveExecutionContext = true;
        _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = _factory.Server.CreateHandler() });
        Wallet = new Wallet.WalletClient(_channel);
    }

    public LedgerStore Ledger => _factory.Services.GetRequiredService<LedgerStore>();

    /// <summary>The configured host, for a test that needs one more setting (a derived factory starts its own server).</summary>
    public WebApplicationFactory<Program> Factory => _factory;

    /// <summary>A users row with this id (kept if it is there already): an admin's sandbox credit funds only users that exist.</summary>
    public async Task<Guid> AddUserAsync(Guid id)
    {
        await using var command = DataSource.CreateCommand("""
            INSERT INTO users (id, email, password_hash, display_name, date_of_birth, country, created_at, updated_at)
            VALUES ($1, $1::text || '@ledger.test', 'not-a-password-hash', 'Ledger test user', '1990-01-01', 'BR', now(), now())
            ON CONFLICT (id) DO NOTHING
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await command.ExecuteNonQueryAsync();
        return id;
    }

    public HttpClient Client(string? token = null)
    {
        var client = _factory.CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    public Task<LedgerSnapshot> SnapshotAsync() => LedgerSnapshot.ReadAsync(DataSource);

    public static string Token(Guid userId, string role = AuthenticationDefaults.Roles.Player, DateTime? expires = null) =>
        TestTokens.Shared.Token(userId, role, expires: expires);

    /// <summary>
    /// The "algorithm confusion" forgery: HS256 keyed with the public key's bytes, which a validator that lets the token
    /// pick its algorithm would accept. Anyone can make it, since the public key is public.
    /// </summary>
    public static string SignedWithThePublicKeyAsHmacSecret(Guid userId) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = AuthenticationDefaults.Issuer,
        Audience = AuthenticationDefaults.Audience,
        Subject = new ClaimsIdentity([new Claim("sub", userId.ToString()), new Claim("role", AuthenticationDefaults.Roles.Admin)]),
        Expires = DateTime.UtcNow.AddMinutes(15),
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(TestTokens.Shared.PublicKey)), SecurityAlgorithms.HmacSha256),
    });

    /// <summary>The same token with its payload swapped for another user's: the signature no longer matches.</summary>
    public static string Tampered(string token, Guid otherUserId)
    {
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1]));
        var sub = System.Text.Json.JsonDocument.Parse(payload).RootElement.GetProperty("sub").GetString()!;
        parts[1] = Base64UrlEncoder.Encode(payload.Replace(sub, otherUserId.ToString(), StringComparison.Ordinal));
        return string.Join('.', parts);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _factory.DisposeAsync();
        await DataSource.DisposeAsync();
    }
}
