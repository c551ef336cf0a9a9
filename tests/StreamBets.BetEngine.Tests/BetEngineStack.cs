using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using StackExchange.Redis;
using StreamBets.BetEngine.Grpc;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Bets;
using StreamBets.Contracts.Users;
using StreamBets.Contracts.Wallet;
using StreamBets.Gateway.RateLimiting;
using StreamBets.Pools.Grpc;
using StreamBets.Testing;
using StreamBets.Users.Accounts;
using StreamBets.Users.Grpc;

namespace StreamBets.BetEngine.Tests;

public sealed record TestPlayer(Guid Id, string Token)
{
    public string Account => $"user:{Id}";
}

public sealed record TestPool(Guid Id, Guid[] Outcomes)
{
    public string Escrow => $"escrow:pool:{Id}";
}

/// <summary>
/// The Bet Engine with its real neighbours, once per test run: the Users service (wallet ledger and CheckEligibility)
/// and the Pools service (GetPool, pool events) each run in-process on real Kestrel ports and are called over real
/// gRPC (h2c), as is the Bet Engine, with the Gateway in front of it. Each service has its own fresh PostgreSQL
/// database; all share the test Redis and one event-bus key prefix, so PoolLocked, BetsPlaced and BetsSettled really
/// travel between them.
/// </summary>
public sealed class BetEngineStack : IAsyncLifetime
{
    private static int _cpfSequence = Random.Shared.Next(100_000_000, 900_000_000);

    private WebApplicationFactory<WalletService> _users = null!;
    private WebApplicationFactory<PoolsGrpcService> _pools = null!;
    private WebApplicationFactory<BetEngineGrpcService> _betEngine = null!;
    private WebApplicationFactory<RateLimitOptions> _gateway = null!;
    private ServicePorts _betEnginePorts = null!;
    private ServicePorts _poolsPorts = null!;
    private ServicePorts _usersPorts = null!;
    private GrpcChannel _walletChannel = null!;

    /// <summary>The Bet Engine's clock: real time, which a test can move ahead (e.g. past a pool's lock time).</summary>
    public AdjustableClock Clock { get; } = new();

    /// <summary>Sits on the Bet Engine's wallet client: a test can freeze a batch after its stakes moved.</summary>
    public StakeHold StakeHold { get; } = new();

    /// <summary>How long the Gateway waits for the Bet Engine's answer to a bet: short enough for a test to wait it out,
    /// long enough for a loaded CI box's first bet.</summary>
    public static readonly TimeSpan RelayAnswerDeadline = TimeSpan.FromSeconds(5);

    /// <summary>Sits on the Bet Engine's wallet client too: a test can have the ledger refuse a bet's refund.</summary>
    public RefundRefusal RefundRefusal { get; } = new();

    /// <summary>Records every TransferBatch the Bet Engine sends the ledger, so a test can count a batch's ledger calls.</summary>
    public RecordedCalls<TransferBatchRequest> LedgerCalls { get; } = new();

    /// <summary>Records the messages of the Gateway's bet stream to the Bet Engine.</summary>
    public RecordedCalls<RestBetBatch> RelayMessages { get; } = new();

    /// <summary>Records the Bet Engine's eligibility calls to Users.</summary>
    public RecordedCalls<CheckEligibilityBatchRequest> EligibilityCalls { get; } = new();

    public string BusPrefix { get; } = $"betengine-tests-{Guid.NewGuid():N}";
    public string RedisConnectionString { get; private set; } = "";
    public string BetsConnectionString { get; private set; } = "";
    public NpgsqlDataSource BetsDb { get; private set; } = null!;
    public NpgsqlDataSource UsersDb { get; private set; } = null!;
    public Wallet.WalletClient Wallet { get; private set; } = null!;
    public HttpClient UsersHttp { get; private set; } = null!;
    public HttpClient PoolsHttp { get; private set; } = null!;
    public string GatewayUrl { get; private set; } = "";
    public IServiceProvider BetEngine => _betEngine.Services;
    public IServiceProvider Pools => _pools.Services;

    public async Task InitializeAsync()
    {
        var postgres = await TestServers.PostgresAsync();
        RedisConnectionString = (await TestServers.RedisAsync()).ConnectionString;
        var usersDb = await InProcessServices.CreateFastDatabaseAsync(postgres, "users");
        var poolsDb = await InProcessServices.CreateFastDatabaseAsync(postgres, "pools");
        BetsConnectionString = await InProcessServices.CreateFastDatabaseAsync(postgres, "bets");
        BetsDb = NpgsqlDataSource.Create(BetsConnectionString);
        UsersDb = NpgsqlDataSource.Create(usersDb);

        var users = _usersPorts = ServicePorts.Free();
        _users = InProcessServices.StartOnKestrel<WalletService>(users,
        [
            .. CommonSettings(),
            TestTokens.Shared.PrivateKeySetting,
            new("ConnectionStrings:usersdb", usersDb),
            new("Users:BootstrapAdmin:Email", ""),
        ]);

        var pools = _poolsPorts = ServicePorts.Free();
        _pools = InProcessServices.StartOnKestrel<PoolsGrpcService>(pools, [.. CommonSettings(), new("ConnectionStrings:poolsdb", poolsDb)]);

        _betEnginePorts = ServicePorts.Free();
        _betEngine = StartBetEngine(_betEnginePorts);

        // The Gateway in front, as players reach the Bet Engine: its bets relayed over gRPC, its other routes proxied.
        var gateway = ServicePorts.Free();
        _gateway = InProcessServices.StartOnKestrel<RateLimitOptions>(gateway,
        [
            .. GatewaySettings(),
            new("BetRelay:AnswerDeadline", RelayAnswerDeadline.ToString()),
        ], web => web.ConfigureTestServices(services =>
            services.AddGrpcClient<Contracts.Bets.BetEngine.BetEngineClient>().AddInterceptor(() => RelayMessages)));
        GatewayUrl = gateway.HttpUrl;

        UsersHttp = new HttpClient { BaseAddress = new Uri(users.HttpUrl) };
        PoolsHttp = new HttpClient { BaseAddress = new Uri(pools.HttpUrl) };
        PoolsHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(Guid.NewGuid(), AuthenticationDefaults.Roles.Admin));
        _walletChannel = GrpcChannel.ForAddress(users.GrpcUrl);
        Wallet = new Wallet.WalletClient(_walletChannel);
    }

    /// <summary>
    /// Starts a Bet Engine on Kestrel at <paramref name="ports"/>, on this stack's database and neighbours: the stack's own,
    /// or another replica beside it (which the stack's Gateway never calls).
    /// </summary>
    public WebApplicationFactory<BetEngineGrpcService> StartBetEngine(ServicePorts ports) =>
        InProcessServices.StartOnKestrel<BetEngineGrpcService>(ports,
        [
            .. CommonSettings(),
            new("ConnectionStrings:betsdb", BetsConnectionString),
            new("services:users:grpc:0", _usersPorts.GrpcUrl),
            new("services:pools:grpc:0", _poolsPorts.GrpcUrl),
            // Pool snapshots are served for minutes, so a test that sees a pool close proves the event closed it.
            new("BetEngine:PoolCacheDuration", "00:10:00"),
            // Pool batchers stop when idle and start again with the next bet: make that happen between most requests.
            new("BetEngine:BatcherIdleTimeout", "00:00:00.200"),
            // Recovery is driven by the tests themselves (RecoverAsync), never by the background round.
            new("BetEngine:RecoveryInterval", "01:00:00"),
            new("BetEngine:RecoveryGracePeriod", "01:00:00"),
            // So is the backlog sampler (SampleAsync); its first round runs at start-up.
            new("BetEngine:BacklogSampleInterval", "01:00:00"),
        ], web => web.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            services.AddGrpcClient<Wallet.WalletClient>().AddInterceptor(() => LedgerCalls).AddInterceptor(() => StakeHold).AddInterceptor(() => RefundRefusal);
            services.AddGrpcClient<UserAccounts.UserAccountsClient>().AddInterceptor(() => EligibilityCalls);
        }));

    public async Task DisposeAsync()
    {
        _walletChannel.Dispose();
        UsersHttp.Dispose();
        PoolsHttp.Dispose();
        await _gateway.DisposeAsync();
        await _betEngine.DisposeAsync();
        await _pools.DisposeAsync();
        await _users.DisposeAsync();
        await BetsDb.DisposeAsync();
        await UsersDb.DisposeAsync();
    }

    /// <summary>A Bet Engine REST client acting as <paramref name="player"/>.</summary>
    public HttpClient BetClient(TestPlayer player)
    {
        var client = _betEngine.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
        return client;
    }

    /// <summary>A Gateway client acting as <paramref name="player"/> (no token when null).</summary>
    public HttpClient GatewayClient(TestPlayer? player)
    {
        var client = new HttpClient { BaseAddress = new Uri(GatewayUrl) };
        if (player is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", player.Token);
        }
        return client;
    }

    public GrpcChannel BetEngineGrpcChannel() => GrpcChannel.ForAddress(_betEnginePorts.GrpcUrl);

    /// <summary>Registers a player through the Users API (Brazilian: KYC tier 1 from the CPF, so eligible; other countries: tier 0)
    /// and funds the wallet through the ledger.</summary>
    public async Task<TestPlayer> NewPlayerAsync(long fundsMinor = 100_000, string country = "BR")
    {
        var email = $"player-{Guid.NewGuid():N}@example.com";
        var registered = await UsersHttp.PostAsJsonAsync("/api/users/register", new
        {
            email,
            password = "correct-horse-battery",
            displayName = "Bettor",
            dateOfBirth = "1990-05-17",
            country,
            cpf = country == "BR" ? Cpf.WithCheckDigits(Interlocked.Increment(ref _cpfSequence).ToString("D9", System.Globalization.CultureInfo.InvariantCulture)) : null,
        });
        registered.EnsureSuccessStatusCode();
        var id = (await registered.Content.ReadFromJsonAsync<IdOnly>())!.Id;
        if (fundsMinor > 0)
        {
            await Wallet.TransferAsync(new TransferRequest
            {
                TransferId = Guid.NewGuid().ToString(),
                Reason = "sandbox-credit",
                Legs = { new Leg { FromAccount = "psp:clearing", ToAccount = $"user:{id}", AmountMinor = fundsMinor } },
            });
        }
        return new TestPlayer(id, Token(id, AuthenticationDefaults.Roles.Player));
    }

    public async Task<TestPlayer[]> NewPlayersAsync(int count, long fundsMinor = 100_000)
    {
        // A few at a time: registration hashes a password, which is the slow part.
        var players = new List<TestPlayer>(count);
        foreach (var chunk in Enumerable.Range(0, count).Chunk(8))
        {
            players.AddRange(await Task.WhenAll(chunk.Select(_ => NewPlayerAsync(fundsMinor))));
        }
        return [.. players];
    }

    /// <summary>Creates (and so opens) a pool through the Pools API as an admin, on a channel of its own.</summary>
    public async Task<TestPool> NewPoolAsync(int outcomes = 2, long minStakeMinor = 100, long maxStakeMinor = 50_000, int windowSeconds = 1200)
    {
        var response = await PoolsHttp.PostAsJsonAsync("/api/pools", InProcessServices.NewPoolRequest(outcomes, minStakeMinor, maxStakeMinor, windowSeconds));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Creating a pool failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        var pool = (await response.Content.ReadFromJsonAsync<PoolOnly>())!;
        return new TestPool(pool.Id, [.. pool.Outcomes.Select(o => o.Id)]);
    }

    public async Task LockPoolAsync(Guid poolId) => (await PoolsHttp.PostAsync($"/api/pools/{poolId}/lock", null)).EnsureSuccessStatusCode();

    public async Task CancelPoolAsync(Guid poolId) => (await PoolsHttp.PostAsync($"/api/pools/{poolId}/cancel", null)).EnsureSuccessStatusCode();

    /// <summary>StreamPoolBets as Settlement calls it: the totals, then every chunk of bets.</summary>
    public async Task<(PoolBetTotals Totals, List<PoolBetColumns> Chunks)> ReadPoolBetsAsync(Guid poolId, int maxBetsPerChunk = 0)
    {
        using var channel = BetEngineGrpcChannel();
        var client = new Contracts.Bets.BetEngine.BetEngineClient(channel);
        using var call = client.StreamPoolBets(new StreamPoolBetsRequest { PoolId = poolId.ToString(), MaxBetsPerChunk = maxBetsPerChunk });
        Assert.True(await call.ResponseStream.MoveNext(default));
        var totals = call.ResponseStream.Current.Totals;
        var chunks = new List<PoolBetColumns>();
        while (await call.ResponseStream.MoveNext(default))
        {
            chunks.Add(call.ResponseStream.Current.Bets);
        }
        return (totals, chunks);
    }

    /// <summary>The ledger's invariants: every balance sums to 0, and no account but PSP clearing is negative.</summary>
    public async Task AssertLedgerExactAsync() => Assert.Equal((0L, 0L), await LedgerTotals.ReadAsync(UsersDb));

    /// <summary>A bet that passed the rules just now, as it waits in its pool's batch (tests run the batch steps themselves).</summary>
    public AdmittedBet Admit(TestPlayer player, TestPool pool, Guid outcome, long stake) =>
        new(new PlaceBetCommand(player.Id, pool.Id, outcome, stake, Guid.NewGuid().ToString()), Guid.CreateVersion7(), RecoveryTests.Now(this));

    /// <summary>The transfer ids of an account's last 100 ledger entries.</summary>
    public async Task<List<string>> TransferIdsAsync(string account) =>
        [.. (await Wallet.HistoryAsync(new HistoryRequest { Account = account, Limit = 100 })).Entries.Select(e => e.TransferId)];

    public async Task<long> BalanceAsync(string account) => (await Wallet.GetBalanceAsync(new GetBalanceRequest { Account = account })).BalanceMinor;

    public async Task<long> ScalarAsync(string sql, params object[] parameters)
    {
        await using var command = BetsDb.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Bets of one pool in betsdb with the given status.</summary>
    public Task<long> BetsOfPoolAsync(Guid poolId, string status) =>
        ScalarAsync("SELECT count(*) FROM bets WHERE pool_id = $1 AND status = $2", poolId, status);

    /// <summary>Batches of one pool in betsdb still recorded as pending (<c>pending_batches</c>).</summary>
    public Task<long> PendingBatchesOfPoolAsync(Guid poolId) =>
        ScalarAsync("SELECT count(*) FROM pending_batches WHERE pool_id = $1", poolId);

    /// <summary>The events of one type about one pool as published on the bus (the topic's Redis streams), oldest first.</summary>
    public async Task<List<JsonElement>> PublishedAsync(string topic, string eventType, Guid poolId) =>
        [.. (await PublishedEventsAsync(topic, eventType, poolId)).Select(e => e.Data)];

    public Task<List<PublishedEvent>> PublishedEventsAsync(string topic, string eventType, Guid poolId) =>
        PublishedEvents.ReadAsync(BetEngine.GetRequiredService<IConnectionMultiplexer>().GetDatabase(), BusPrefix, topic, eventType,
            data => data.GetProperty("poolId").GetGuid() == poolId);

    public static string Token(Guid userId, string role) => TestTokens.Shared.Token(userId, role);

    /// <summary>Polls until the condition holds (background work: event delivery, relays).</summary>
    public static Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan? within = null) =>
        Eventually.HoldsAsync(condition, within ?? TimeSpan.FromSeconds(15));

    /// <summary>Starts another Gateway in front of this stack's Bet Engine, with <paramref name="settings"/> on top.</summary>
    public WebApplicationFactory<RateLimitOptions> StartGateway(params KeyValuePair<string, string?>[] settings) =>
        InProcessServices.StartOnTestServer<RateLimitOptions>([.. GatewaySettings(), .. settings]);

    private KeyValuePair<string, string?>[] GatewaySettings() =>
    [
        .. CommonSettings(),
        new("services:betengine:http:0", _betEnginePorts.HttpUrl),
        new("services:betengine:grpc:0", _betEnginePorts.GrpcUrl),
        new("services:pools:http:0", _poolsPorts.HttpUrl), // its routes proxied, as the Gateway's other routes are
        new("RateLimiting:AuthenticatedPermitsPerWindow", "1000"),
    ];

    private KeyValuePair<string, string?>[] CommonSettings() => InProcessServices.CommonSettings(RedisConnectionString, BusPrefix);

    private sealed record IdOnly(Guid Id);

    private sealed record OutcomeOnly(Guid Id);

    private sealed record PoolOnly(Guid Id, OutcomeOnly[] Outcomes);
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<BetEngineStack>
{
    public const string Name = "bet engine stack";
}
