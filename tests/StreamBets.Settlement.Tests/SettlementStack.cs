using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StackExchange.Redis;
using StreamBets.BetEngine.Grpc;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Wallet;
using StreamBets.Pools.Grpc;
using StreamBets.Settlement.Payouts;
using StreamBets.Testing;
using StreamBets.Users.Grpc;

namespace StreamBets.Settlement.Tests;

public sealed record TestPool(Guid Id, Guid[] Outcomes, int RakeBasisPoints)
{
    public string Escrow => $"escrow:pool:{Id}";
}

public sealed record TestBet(Guid BetId, Guid UserId, Guid OutcomeId, long StakeMinor);

/// <summary>
/// Settlement with its real neighbours, once per test run: Users (the wallet ledger), Pools (resolution and
/// CalculatePayouts) and the Bet Engine (the bets, StreamPoolBets) each in-process on real Kestrel ports with real gRPC;
/// Settlement itself on TestServer, stoppable and restartable on the same settlementdb, or as an OS process of its own
/// (the crash test kills one). Every service
/// has its own fresh database; all share the test Redis and one event-bus key prefix, so PoolResolved, BetsSettled and
/// PoolSettled really travel. Bets go in through the Bet Engine's real batch path (pending rows, one TransferBatch, the
/// finalize transaction), which skips only the per-request rules, so thousands of players need no registration.
/// </summary>
public sealed class SettlementStack : IAsyncLifetime
{
    private WebApplicationFactory<WalletService> _users = null!;
    private WebApplicationFactory<PoolsGrpcService> _pools = null!;
    private WebApplicationFactory<BetEngineGrpcService> _betEngine = null!;
    private WebApplicationFactory<SettlementWorker>? _settlement;
    private GrpcChannel _walletChannel = null!;
    private ServicePorts _usersPorts = null!, _poolsPorts = null!, _betEnginePorts = null!;

    public string BusPrefix { get; } = $"settlement-tests-{Guid.NewGuid():N}";
    public string RedisConnectionString { get; private set; } = "";
    public string SettlementConnectionString { get; private set; } = "";
    public NpgsqlDataSource SettlementDb { get; private set; } = null!;
    public NpgsqlDataSource UsersDb { get; private set; } = null!;
    public NpgsqlDataSource PoolsDb { get; private set; } = null!;
    public Wallet.WalletClient Wallet { get; private set; } = null!;
    public HttpClient PoolsHttp { get; private set; } = null!;
    public Guid AdminId { get; } = Guid.NewGuid();
    public IServiceProvider BetEngine => _betEngine.Services;
    public WebApplicationFactory<SettlementWorker> Settlement => _settlement ?? throw new InvalidOperationException("No Settlement host is running.");

    public async Task InitializeAsync()
    {
        var postgres = await TestServers.PostgresAsync();
        RedisConnectionString = (await TestServers.RedisAsync()).ConnectionString;
        var usersDb = await InProcessServices.CreateFastDatabaseAsync(postgres, "users");
        var poolsDb = await InProcessServices.CreateFastDatabaseAsync(postgres, "pools");
        var betsDb = await InProcessServices.CreateFastDatabaseAsync(postgres, "bets");
        SettlementConnectionString = await InProcessServices.CreateFastDatabaseAsync(postgres, "settlement");
        UsersDb = NpgsqlDataSource.Create(usersDb);
        PoolsDb = NpgsqlDataSource.Create(poolsDb);

        (_usersPorts, _poolsPorts, _betEnginePorts) = (ServicePorts.Free(), ServicePorts.Free(), ServicePorts.Free());
        _users = InProcessServices.StartOnKestrel<WalletService>(_usersPorts,
            [.. CommonSettings(), TestTokens.Shared.PrivateKeySetting, new("ConnectionStrings:usersdb", usersDb), new("Users:BootstrapAdmin:Email", "")]);
        _pools = InProcessServices.StartOnKestrel<PoolsGrpcService>(_poolsPorts, [.. CommonSettings(), new("ConnectionStrings:poolsdb", poolsDb)]);
        _betEngine = InProcessServices.StartOnKestrel<BetEngineGrpcService>(_betEnginePorts,
        [
            .. CommonSettings(),
            new("ConnectionStrings:betsdb", betsDb),
            new("services:users:grpc:0", _usersPorts.GrpcUrl),
            new("services:pools:grpc:0", _poolsPorts.GrpcUrl),
        ]);

        SettlementDb = NpgsqlDataSource.Create(SettlementConnectionString);
        StartSettlement();

        PoolsHttp = new HttpClient { BaseAddress = new Uri(_poolsPorts.HttpUrl) };
        PoolsHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Shared.Token(AdminId, "admin"));
        _walletChannel = GrpcChannel.ForAddress(_usersPorts.GrpcUrl);
        Wallet = new Wallet.WalletClient(_walletChannel);
    }

    public async Task DisposeAsync()
    {
        _walletChannel.Dispose();
        PoolsHttp.Dispose();
        await StopSettlementAsync();
        await _betEngine.DisposeAsync();
        await _pools.DisposeAsync();
        await _users.DisposeAsync();
        await SettlementDb.DisposeAsync();
        await UsersDb.DisposeAsync();
        await PoolsDb.DisposeAsync();
    }

    /// <summary>Starts a Settlement host on the stack's settlementdb (small chunks, so 10,000 bets are many).</summary>
    public void StartSettlement(Action<IServiceCollection>? configureServices = null)
    {
        if (_settlement is not null)
        {
            throw new InvalidOperationException("A Settlement host is already running.");
        }

        _settlement = StartReplica(configureServices);
    }

    /// <summary>
    /// A Settlement host on the stack's settlementdb and neighbours, as another replica is, beside the stack's own (or
    /// instead of it, once that is stopped): the caller owns it and disposes it to stop it.
    /// </summary>
    public WebApplicationFactory<SettlementWorker> StartReplica(Action<IServiceCollection>? configureServices = null) =>
        InProcessServices.StartOnTestServer<SettlementWorker>(SettlementSettings(), web =>
        {
            if (configureServices is not null)
            {
                web.ConfigureTestServices(configureServices);
            }
        });

    /// <summary>
    /// Starts Settlement as an OS process of its own (its build of this test run's configuration) with the in-process
    /// host's settings, as <paramref name="name"/> in <paramref name="processes"/>: one a crash test can really kill.
    /// Stop the in-process host first, or both settle.
    /// </summary>
    public Task StartSettlementProcessAsync(ServiceProcesses processes, string name)
    {
        var environment = SettlementSettings().ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value ?? "");
        environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        return processes.StartAsync("StreamBets.Settlement", ServicePorts.Free(), environment, name);
    }

    /// <summary>Settlement on the stack's settlementdb and neighbours, in small chunks so 10,000 bets are many.</summary>
    private KeyValuePair<string, string?>[] SettlementSettings() =>
    [
        .. CommonSettings(),
        new("ConnectionStrings:settlementdb", SettlementConnectionString),
        new("services:betengine:grpc:0", _betEnginePorts.GrpcUrl),
        new("services:pools:grpc:0", _poolsPorts.GrpcUrl),
        new("services:users:grpc:0", _usersPorts.GrpcUrl),
        new("Settlement:BetsPerChunk", "1000"),
        new("Settlement:BetsPerPayment", "500"),
        new("Settlement:PollInterval", "00:00:00.200"),
        new("Settlement:RetryInitialDelay", "00:00:00.200"),
        new("Settlement:RetryMaxDelay", "00:00:02"),
    ];

    /// <summary>Stops the Settlement host as a shutdown does (its runs are cancelled mid-flight).</summary>
    public async Task StopSettlementAsync()
    {
        if (_settlement is { } settlement)
        {
            _settlement = null;
            await settlement.DisposeAsync();
        }
    }

    /// <summary>A REST client of the running Settlement host, acting as <paramref name="userId"/> in <paramref name="role"/>.</summary>
    public HttpClient SettlementClient(Guid userId, string role)
    {
        var client = Settlement.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Shared.Token(userId, role));
        return client;
    }

    /// <summary>
    /// Creates (and so opens) a pool through the Pools API, by default as the stack's admin, on
    /// <paramref name="channelId"/> or a channel of its own; as the given streamer, on a channel the admin links to them first.
    /// Stakes 1 to <paramref name="maxStakeMinor"/>; the rake is the configuration's at creation.
    /// </summary>
    public async Task<TestPool> NewPoolAsync(int outcomes = 2, (Guid Id, HttpClient Pools)? streamer = null, string? channelId = null, long maxStakeMinor = 1_000_000)
    {
        channelId ??= $"chan-{Guid.NewGuid():N}";
        if (streamer is { } owner)
        {
            await LinkChannelAsync(channelId, owner.Id);
        }
        var response = await (streamer?.Pools ?? PoolsHttp).PostAsJsonAsync("/api/pools", InProcessServices.NewPoolRequest(outcomes, 1, maxStakeMinor, channelId: channelId));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Creating a pool failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        var pool = (await response.Content.ReadFromJsonAsync<PoolOnly>())!;
        return new TestPool(pool.Id, [.. pool.Outcomes.Select(o => o.Id)], pool.RakeBasisPoints);
    }

    /// <summary>Links the Twitch channel to the streamer as an operator does, moving it from whoever had it.</summary>
    public async Task LinkChannelAsync(string channelId, Guid ownerId) =>
        (await PoolsHttp.PutAsJsonAsync($"/api/pools/admin/channels/twitch/{channelId}", new { ownerId })).EnsureSuccessStatusCode();

    public Task LockAsync(Guid poolId) => PostAsync($"/api/pools/{poolId}/lock", null);

    public Task ResolveAsync(Guid poolId, params Guid[] winners) => PostAsync($"/api/pools/{poolId}/resolve", new { winningOutcomeIds = winners });

    public Task CancelAsync(Guid poolId) => PostAsync($"/api/pools/{poolId}/cancel", null);

    /// <summary>Wallets of new users, each credited <paramref name="fundsMinor"/> from PSP clearing in one TransferBatch per 10,000.</summary>
    public async Task<Guid[]> FundedUsersAsync(int count, long fundsMinor)
    {
        var users = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        await FundAsync(users.Select(u => (u, fundsMinor)));
        return users;
    }

    /// <summary>Credits each user's wallet its amount from PSP clearing, in one TransferBatch per 10,000 (legs of at most 10^15, the ledger's cap per leg).</summary>
    public async Task FundAsync(IEnumerable<(Guid UserId, long AmountMinor)> credits)
    {
        const long maxLeg = 1_000_000_000_000_000;
        foreach (var chunk in credits.Chunk(10_000))
        {
            var request = new TransferBatchRequest();
            foreach (var (userId, amountMinor) in chunk)
            {
                var transfer = new TransferRequest { TransferId = Guid.NewGuid().ToString(), Reason = "sandbox-credit" };
                for (var left = amountMinor; left > 0; left -= maxLeg)
                {
                    transfer.Legs.Add(new Leg { FromAccount = "psp:clearing", ToAccount = $"user:{userId}", AmountMinor = Math.Min(left, maxLeg) });
                }
                request.Transfers.Add(transfer);
            }
            var reply = await Wallet.TransferBatchAsync(request, deadline: DateTime.UtcNow.AddMinutes(2));
            if (reply.Results.Any(r => r.Status != TransferStatus.Applied))
            {
                throw new InvalidOperationException($"Funding a wallet failed: {reply.Results.First(r => r.Status != TransferStatus.Applied)}");
            }
        }
    }

    /// <summary>Places bets through the Bet Engine's batch path; every one must be accepted (its stake now in escrow).</summary>
    public async Task<TestBet[]> PlaceAsync(Guid poolId, IEnumerable<(Guid UserId, Guid OutcomeId, long StakeMinor)> bets, int batchSize = 1_000)
    {
        var pipeline = BetEngine.GetRequiredService<BetBatchPipeline>();
        var placed = new List<TestBet>();
        foreach (var chunk in bets.Chunk(batchSize))
        {
            var admitted = chunk.Select(b => new AdmittedBet(
                new PlaceBetCommand(b.UserId, poolId, b.OutcomeId, b.StakeMinor, $"settle-{Guid.NewGuid():N}"), Guid.CreateVersion7(), DateTimeOffset.UtcNow)).ToArray();
            IReadOnlyList<PlacementResult>? results = null;
            await pipeline.RunAsync(poolId, admitted, r => results = r, default);
            if (results is null || results.Any(r => r.Bet?.Status != BetStatus.Accepted))
            {
                throw new InvalidOperationException($"A bet was not accepted: {results?.FirstOrDefault(r => r.Bet?.Status != BetStatus.Accepted)}");
            }
            placed.AddRange(admitted.Select(a => new TestBet(a.BetId, a.Command.UserId, a.Command.OutcomeId, a.Command.StakeMinor)));
        }
        return [.. placed];
    }

    /// <summary>Moves money between two accounts outside settlement, as an operator's adjustment would.</summary>
    public async Task MoveAsync(string from, string to, long amountMinor)
    {
        var reply = await Wallet.TransferAsync(new TransferRequest
        {
            TransferId = Guid.NewGuid().ToString(),
            Reason = "test-adjustment",
            Legs = { new Leg { FromAccount = from, ToAccount = to, AmountMinor = amountMinor } },
        });
        Assert.False(reply.Duplicate);
    }

    public async Task<long> BalanceAsync(string account) => (await Wallet.GetBalanceAsync(new GetBalanceRequest { Account = account })).BalanceMinor;

    /// <summary>Balances of many accounts at once, read from usersdb (an account never used is absent: 0).</summary>
    public Task<Dictionary<string, long>> BalancesAsync(IEnumerable<string> accounts) => LedgerTotals.BalancesAsync(UsersDb, accounts);

    /// <summary>
    /// The ledger's invariants: every balance sums to 0, no account but PSP clearing is negative, and each account's
    /// balance equals the sum of its entries and its latest entry's balance_after.
    /// </summary>
    public async Task AssertLedgerExactAsync()
    {
        Assert.Equal((0L, 0L), await LedgerTotals.ReadAsync(UsersDb));
        Assert.Empty(await LedgerTotals.DriftedAccountsAsync(UsersDb));
    }

    /// <summary>
    /// The settlement transfers (reason payout or refund) each bet received in usersdb, found by their reference
    /// <c>bet:{betId}</c>, with the account each one credited and by how much; a bet with none is absent.
    /// </summary>
    public async Task<Dictionary<Guid, List<(Guid TransferId, string Reason, string CreditedAccount, long AmountMinor)>>> SettlementTransfersAsync(IEnumerable<Guid> betIds)
    {
        var transfers = new Dictionary<Guid, List<(Guid, string, string, long)>>();
        await using var command = UsersDb.CreateCommand("""
            SELECT t.reference, t.transfer_id, t.reason, a.code, e.amount
            FROM ledger_transfers t
            JOIN ledger_entries e ON e.transfer_seq = t.seq AND e.amount > 0
            JOIN ledger_accounts a ON a.id = e.account_id
            WHERE t.reference = ANY($1) AND t.reason = ANY($2)
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. betIds.Select(id => $"bet:{id}")] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [PoolSettlementRun.PayoutReason, PoolSettlementRun.RefundReason] });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var betId = Guid.Parse(reader.GetString(0)["bet:".Length..]);
            (transfers.TryGetValue(betId, out var list) ? list : transfers[betId] = [])
                .Add((reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
        }
        return transfers;
    }

    /// <summary>How many transfers, whatever their reference, took money out of the pool's escrow for the reason.</summary>
    public async Task<long> EscrowTransfersAsync(Guid poolId, string reason)
    {
        await using var command = UsersDb.CreateCommand("""
            SELECT count(*) FROM ledger_transfers t
            JOIN ledger_entries e ON e.transfer_seq = t.seq AND e.amount < 0
            JOIN ledger_accounts a ON a.id = e.account_id
            WHERE a.code = $1 AND t.reason = $2
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PoolSettlementRun.EscrowAccount(poolId) });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Waits until the pool's settlement is settled; fails at once if it stopped in 'failed'.</summary>
    public async Task WaitSettledAsync(Guid poolId, TimeSpan? within = null)
    {
        string? status = null, error = null;
        var settled = await Eventually.HoldsAsync(async () =>
        {
            (status, error) = await StatusAsync(poolId);
            return status is "settled" or "failed";
        }, within ?? TimeSpan.FromSeconds(30));
        Assert.True(settled && status == "settled", $"Settlement of pool {poolId} is '{status}' ({error}).");
    }

    public async Task<(string? Status, string? LastError)> StatusAsync(Guid poolId)
    {
        await using var command = SettlementDb.CreateCommand("SELECT status, last_error FROM settlements WHERE pool_id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = poolId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)) : (null, null);
    }

    /// <summary>
    /// A session of its own on settlementdb, outside the pool, as another replica's lock session is: its advisory locks
    /// last until it is closed or terminated (a pooled connection would keep them after Dispose).
    /// </summary>
    public async Task<NpgsqlConnection> OpenSessionAsync()
    {
        var session = new NpgsqlConnection(SettlementConnectionString + ";Pooling=false");
        await session.OpenAsync();
        return session;
    }

    /// <summary>Takes (pg_advisory_lock) or releases (pg_advisory_unlock) a pool's settlement run lock in the session.</summary>
    public static async Task RunLockAsync(NpgsqlConnection session, string function, Guid poolId)
    {
        await using var command = new NpgsqlCommand($"SELECT {function}($1, hashtext($2))", session);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = SettlementWorker.RunLockClass });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = poolId.ToString() });
        await command.ExecuteScalarAsync();
    }

    public async Task<long> SettlementScalarAsync(string sql, params object[] parameters)
    {
        await using var command = SettlementDb.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The first UPDATE of the pool's settlements row that matches <paramref name="condition"/> (SQL over OLD and NEW)
    /// fails, as a settlementdb blip would (a deadlock, 40P01, which a retry gets past); later ones go through. Dispose to
    /// remove the fault.
    /// </summary>
    public Task<InjectedFault> FailFirstUpdateAsync(Guid poolId, string condition) =>
        FailWritesAsync("UPDATE", "settlements", $"NEW.pool_id = '{poolId}' AND ({condition})", PostgresErrorCodes.DeadlockDetected, times: 1);

    /// <summary>
    /// Every <paramref name="operation"/> of a settlementdb <paramref name="table"/> row matching <paramref name="condition"/>
    /// fails with the SQLSTATE <paramref name="sqlState"/>: see <see cref="WriteFaults.FailWritesAsync(string, string, string, string, string, string, int?)"/>.
    /// </summary>
    public Task<InjectedFault> FailWritesAsync(string operation, string table, string condition, string sqlState, int? times = null) =>
        WriteFaults.FailWritesAsync(SettlementConnectionString, operation, table, condition, "injected settlementdb fault", sqlState, times);

    /// <summary>Settlement's events about one pool as published on the bus, oldest first (a republished event keeps its id).</summary>
    public Task<List<PublishedEvent>> PublishedAsync(string eventType, Guid poolId) =>
        PublishedEvents.ReadAsync(Redis, BusPrefix, "settlement", eventType, data => data.GetProperty("poolId").GetGuid() == poolId);

    /// <summary>The bet lines of the pool's BetsSettled events on the bus, each event counted once (a republished copy has the same id).</summary>
    public async Task<List<System.Text.Json.JsonElement>> SettledBetLinesAsync(Guid poolId) =>
        [.. (await PublishedAsync("streambets.settlement.bets-settled.v1", poolId)).DistinctBy(e => e.Id).SelectMany(e => e.Data.GetProperty("bets").EnumerateArray())];

    public IDatabase Redis => BetEngine.GetRequiredService<IConnectionMultiplexer>().GetDatabase();

    private async Task PostAsync(string path, object? body)
    {
        var response = body is null ? await PoolsHttp.PostAsync(path, null) : await PoolsHttp.PostAsJsonAsync(path, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private KeyValuePair<string, string?>[] CommonSettings() => InProcessServices.CommonSettings(RedisConnectionString, BusPrefix);

    private sealed record OutcomeOnly(Guid Id);

    private sealed record PoolOnly(Guid Id, OutcomeOnly[] Outcomes, int RakeBasisPoints);
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<SettlementStack>
{
    public const string Name = "settlement stack";
}
