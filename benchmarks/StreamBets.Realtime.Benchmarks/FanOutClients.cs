using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace StreamBets.Realtime.Benchmarks;

/// <summary>The fields of an OddsChanged push the harness reads; the rest of the payload is skipped.</summary>
public sealed record OddsSeen(long Sequence, DateTimeOffset AsOf, long TotalStakedMinor);

/// <summary>
/// N anonymous WebSocket clients watching one pool. Each push's delay is measured from the odds change (its <c>asOf</c>,
/// stamped by the publisher on this machine's clock) to its arrival at a client.
/// </summary>
public sealed class FanOutClients : IAsyncDisposable
{
    private readonly List<HubConnection> _connections = [];
    private readonly ConcurrentQueue<double> _delaysMs = new();
    private long _received;

    public bool Recording { get; set; }

    public long Received => Interlocked.Read(ref _received);

    public static async Task<FanOutClients> ConnectAsync(IReadOnlyList<string> urls, int count, Guid poolId, int concurrency)
    {
        var clients = new FanOutClients();
        using var slots = new SemaphoreSlim(concurrency);
        var connecting = Enumerable.Range(0, count).Select(async i =>
        {
            await slots.WaitAsync();
            try
            {
                var connection = new HubConnectionBuilder()
                    .WithUrl($"{urls[i % urls.Count]}/hubs/live", options =>
                    {
                        options.Transports = HttpTransportType.WebSockets;
                        options.SkipNegotiation = true;
                    })
                    .Build();
                connection.On<OddsSeen>("OddsChanged", clients.Record);
                await connection.StartAsync();
                await connection.InvokeAsync("WatchPool", poolId);
                lock (clients._connections)
                {
                    clients._connections.Add(connection);
                }
            }
            finally
            {
                slots.Release();
            }
        });
        await Task.WhenAll(connecting);
        return clients;
    }

    public double[] TakeDelays()
    {
        var delays = new List<double>(_delaysMs.Count);
        while (_delaysMs.TryDequeue(out var delay))
        {
            delays.Add(delay);
        }
        return [.. delays.Order()];
    }

    public void ResetCount() => Interlocked.Exchange(ref _received, 0);

    private void Record(OddsSeen odds)
    {
        var delay = (DateTimeOffset.UtcNow - odds.AsOf).TotalMilliseconds;
        Interlocked.Increment(ref _received);
        if (Recording)
        {
            _delaysMs.Enqueue(delay);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var chunk in _connections.Chunk(200))
        {
            await Task.WhenAll(chunk.Select(c => c.DisposeAsync().AsTask()));
        }
    }
}
