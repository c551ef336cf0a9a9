using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using StreamBets.Messaging.Transports;
using StreamBets.Testing;

namespace StreamBets.Messaging.Tests;

/// <summary>The relay's leader lock session, cut off between the leader and PostgreSQL, against the machine's PostgreSQL.</summary>
public sealed class RelayLockSessionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_leader_whose_lock_session_was_dropped_in_silence_stops_leading_while_another_replica_takes_over()
    {
        var database = await TestDatabases.CreateAsync("pub");
        await using var proxy = await SilencingProxy.StartAsync(database);
        var setup = new BusSetup(
            MessagingTransport.RedisStreams,
            new Dictionary<string, string?> { ["ConnectionStrings:redis"] = (await TestServers.RedisAsync()).ConnectionString },
            $"t{Guid.NewGuid():N}"[..12]);
        await using var first = await TestService.StartAsync(setup, proxy.ConnectionString, "wallet");
        await Eventually.TrueAsync(() => Task.FromResult(first.Relay.IsLeader), Patience, "the first replica leads");
        await using var second = await TestService.StartAsync(setup, database, "wallet");

        // A NAT that forgot the lock session: PostgreSQL sees it end and releases the lock, the leader hears nothing.
        proxy.Silence(await LockSessionPortAsync(database));

        await Eventually.TrueAsync(() => Task.FromResult(second.Relay.IsLeader), Patience, "the second replica takes the released lock");
        // Keepalive: 10 s idle, then 10 s for the answer that never comes; the rest is room for a loaded machine.
        await Eventually.TrueAsync(() => Task.FromResult(!first.Relay.IsLeader), TimeSpan.FromSeconds(40),
            "the first replica notices its session is dead and stops leading (and publishing)");
        Assert.True(second.Relay.IsLeader);
    }

    [Fact]
    public async Task A_lock_session_asks_postgresql_to_notice_within_seconds_that_its_client_vanished()
    {
        // The service's own Options stay: a statement timeout set in the connection string still holds.
        var database = new NpgsqlConnectionStringBuilder(await TestDatabases.CreateAsync("pub")) { Options = "-c statement_timeout=7000" };
        await using var bus = new MessagingDatabase(database.ConnectionString);
        await using var session = await bus.LockSessions.OpenConnectionAsync();
        await using var read = new NpgsqlCommand("""
            SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'),
                   current_setting('tcp_keepalives_count'), current_setting('tcp_user_timeout'), current_setting('statement_timeout')
            """, session);
        await using var settings = await read.ExecuteReaderAsync();
        Assert.True(await settings.ReadAsync());

        // Over TCP, as a deployment connects: PostgreSQL then drops the backend, and the lock, ~25 s after the client is gone.
        Assert.Equal(["10", "5", "3", "20000", "7s"], Enumerable.Range(0, 5).Select(settings.GetString).ToArray());
    }

    /// <summary>The proxy-side port of the session holding the relay lock (key 0x5342_4F55_5442_4F58, "SBOUTBOX") in this database.</summary>
    private static async Task<int> LockSessionPortAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var find = new NpgsqlCommand("""
            SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = x'53424F55'::int::oid AND l.objid = x'54424F58'::int::oid
              AND a.datname = current_database()
            """, connection);
        return (int)(await find.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// A TCP relay to PostgreSQL whose connections the test can silence: the PostgreSQL side is closed, while the
    /// client side stays open and every byte sent on it is dropped unanswered.
    /// </summary>
    private sealed class SilencingProxy : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly IPEndPoint _server;
        private readonly ConcurrentDictionary<int, Link> _links = new(); // by the port PostgreSQL sees as client_port
        private readonly CancellationTokenSource _stop = new();

        private SilencingProxy(IPEndPoint server, string connectionString)
        {
            _server = server;
            _listener.Start();
            ConnectionString = new NpgsqlConnectionStringBuilder(connectionString)
            {
                Host = "127.0.0.1",
                Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
            }.ConnectionString;
        }

        public string ConnectionString { get; }

        public static Task<SilencingProxy> StartAsync(string connectionString)
        {
            var target = new NpgsqlConnectionStringBuilder(connectionString);
            var proxy = new SilencingProxy(new IPEndPoint(IPAddress.Parse(target.Host!), target.Port), connectionString);
            _ = proxy.AcceptAsync();
            return Task.FromResult(proxy);
        }

        public void Silence(int serverSidePort)
        {
            var link = _links[serverSidePort];
            link.Silenced = true;
            link.Server.Close();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                var server = new TcpClient();
                await server.ConnectAsync(_server);
                var link = new Link(client, server);
                _links[((IPEndPoint)server.Client.LocalEndPoint!).Port] = link;
                _ = PumpAsync(link, client, server);
                _ = PumpAsync(link, server, client);
            }
        }

        private static async Task PumpAsync(Link link, TcpClient from, TcpClient to)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await from.GetStream().ReadAsync(buffer)) > 0)
                {
                    if (!link.Silenced)
                    {
                        await to.GetStream().WriteAsync(buffer.AsMemory(0, read));
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // One side closed: the link ends (or, silenced, goes on dropping what the client sends).
            }
            if (!link.Silenced)
            {
                to.Close();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            foreach (var link in _links.Values)
            {
                link.Client.Close();
                link.Server.Close();
            }
        }

        private sealed class Link(TcpClient client, TcpClient server)
        {
            public TcpClient Client { get; } = client;
            public TcpClient Server { get; } = server;
            public volatile bool Silenced;
        }
    }
}
