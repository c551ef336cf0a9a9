using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace StreamBets.Testing;

/// <summary>Redis 7 from the machine's packages, configured as local mode's (StreamBets.AppHost/LocalServers/redis.sh):
/// append-only persistence so a restart keeps its streams, rewritten only after 1 GB of growth.</summary>
public sealed class RedisServer() : LocalServer("redis")
{
    public string ConnectionString => $"127.0.0.1:{Port}";

    protected override ProcessStartInfo StartInfo() => new("redis-server",
    [
        "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--bind", "127.0.0.1", "--dir", DataDirectory, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
        "--auto-aof-rewrite-min-size", "1gb",
    ]);

    protected override async Task<bool> AnswersAsync()
    {
        // A listener that never answers (not Redis, or Redis stuck loading) must not hang the start forever.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            // Refused before it listens, reset while it starts, or silent.
            return false;
        }
    }
}
