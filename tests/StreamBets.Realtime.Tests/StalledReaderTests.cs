using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Realtime.Hubs;
using StreamBets.Realtime.Live;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// The backplane hands a group's messages to this replica's members one message at a time, each waiting for every
/// member's write: a watcher that never reads must not hold up the pool for the others.
/// </summary>
[Collection(StackCollection.Name)]
public sealed class StalledReaderTests(RealtimeStack stack)
{
    private const char RecordSeparator = '\u001e';

    [Fact]
    public async Task A_watcher_that_stops_reading_does_not_hold_up_the_pool_for_the_other_watchers()
    {
        var poolId = Guid.NewGuid();
        await using var watcher = await stack.ConnectAsync();
        await watcher.InvokeAsync("WatchPool", poolId);
        using var stalled = await ConnectStalledAsync(new Uri($"{stack.HostA.Replace("http", "ws")}/hubs/live"));
        await SendAsync(stalled, $$"""{"type":1,"invocationId":"0","target":"WatchPool","arguments":["{{poolId}}"]}""");
        Assert.Contains("\"invocationId\":\"0\"", await ReceiveRecordAsync(stalled)); // watching; it never reads again
        using var stop = new CancellationTokenSource();
        // Pings keep it from timing out, as a client whose socket is alive but whose page is frozen would.
        var pings = KeepPingingAsync(stalled, stop.Token);

        // About 8 MB of odds: more than the stalled socket's kernel buffers and the server's pipes hold.
        var publisher = stack.ServicesA.GetRequiredService<LivePublisher>();
        var outcomes = Enumerable.Range(0, 1_000).Select(_ => new OutcomeStakes(Guid.NewGuid(), 1, 1)).ToArray();
        const int floods = 100;
        for (var total = 1; total <= floods; total++)
        {
            await publisher.PublishOddsAsync(new OddsChangedMessage(poolId, total, outcomes, DateTimeOffset.UtcNow), CancellationToken.None);
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // the stalled connection's buffers are full by now
        var clock = Stopwatch.StartNew();
        await publisher.PublishAsync(LiveStream.Pool(poolId), new PoolStateChangedMessage(poolId, "locked", [], DateTimeOffset.UtcNow), Guid.NewGuid(), CancellationToken.None);

        await watcher.WaitForAsync("PoolStateChanged", p => p.About(poolId));
        var took = clock.Elapsed;
        await stop.CancelAsync();
        await pings;
        Assert.Equal(floods, watcher.Received("OddsChanged").Count);
        // The stalled connection is dropped 2-3 s after its buffers fill, which may be just before the lock (and a loaded
        // box adds its share); it used to hold the pool up for 10 s.
        Assert.True(took < TimeSpan.FromSeconds(8), $"The lock reached the other watcher after {took.TotalSeconds:F1} s");
    }

    /// <summary>A raw WebSocket with a small receive buffer, past the SignalR handshake.</summary>
    private static async Task<ClientWebSocket> ConnectStalledAsync(Uri hub)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader(HubCallers.ClientNetworkHeader, RealtimeStack.NewClientNetwork());
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4_096, NoDelay = true };
                await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(tcp, ownsSocket: true);
            },
        };
        await socket.ConnectAsync(hub, new HttpMessageInvoker(handler), CancellationToken.None);
        await SendAsync(socket, """{"protocol":"json","version":1}""");
        Assert.Equal("{}", await ReceiveRecordAsync(socket));
        return socket;
    }

    private static async Task KeepPingingAsync(ClientWebSocket socket, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await SendAsync(socket, """{"type":6}""");
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Stopped, or the server closed the connection.
        }
    }

    private static Task SendAsync(ClientWebSocket socket, string record) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(record + RecordSeparator), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    private static async Task<string> ReceiveRecordAsync(ClientWebSocket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[1];
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, CancellationToken.None);
            var c = (char)buffer[0];
            if (read.Count == 0 || c == RecordSeparator)
            {
                return text.ToString();
            }
            text.Append(c);
        }
    }
}
