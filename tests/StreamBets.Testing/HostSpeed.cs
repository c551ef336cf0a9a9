using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace StreamBets.Testing;

/// <summary>
/// How fast this box is at the moment, on one thread: the seconds to hash 1 GB with SHA-256 (compute), to follow
/// 3,000,000 random links through 256 MB (memory latency, what databases wait on), and to make 1,000 8 kB writes
/// durable one at a time (what every PostgreSQL commit waits on; the first two did not tell a 49 s settlement from a
/// 76 s one in sessions 17 and 18). The build box is a VM whose host lends
/// it more or less of each from one quarter of an hour to the next, and no steal time shows it: the same
/// 1,000,000-bet settlement took 47 s and 74 s within an hour. Benchmarks measure it before they start their servers and
/// after they stop them (on a busy box it would measure the load instead), so runs are compared at similar speeds.
/// </summary>
public static class HostSpeed
{
    private const int HashChunkBytes = 16 << 20;
    private const int HashChunks = 64;
    private const int Links = 64 << 20; // 4-byte links: 256 MB, far beyond any cache
    private const int Steps = 3_000_000;
    private const int SyncedWrites = 1_000;

    public static (double HashSeconds, double MemorySeconds, double SyncSeconds) Measure() => (HashSeconds(), MemorySeconds(), SyncSeconds());

    public static string Describe((double Hash, double Memory, double Sync) before, (double Hash, double Memory, double Sync) after) => string.Create(CultureInfo.InvariantCulture,
        $"Host speed on the idle box (one thread; lower is faster): SHA-256 of 1 GB {before.Hash:F2} s before the run, {after.Hash:F2} s after; " +
        $"3M random reads in 256 MB {before.Memory:F2} s before, {after.Memory:F2} s after; " +
        $"1,000 synced 8 kB writes {before.Sync:F2} s before, {after.Sync:F2} s after");

    private static double HashSeconds()
    {
        var chunk = new byte[HashChunkBytes];
        Random.Shared.NextBytes(chunk);
        SHA256.HashData(chunk); // loads and warms the native code outside the timing
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < HashChunks; i++)
        {
            SHA256.HashData(chunk);
        }
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Overwrites one 8 kB page and flushes it to the disk each time, as a commit flushes the WAL, beside the test servers' data.</summary>
    private static double SyncSeconds()
    {
        Directory.CreateDirectory(LocalServer.Root);
        var path = Path.Combine(LocalServer.Root, $"host-speed-{Environment.ProcessId}.tmp");
        var page = new byte[8192];
        Random.Shared.NextBytes(page);
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < SyncedWrites; i++)
            {
                file.Position = 0;
                file.Write(page);
                file.Flush(flushToDisk: true);
            }
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double MemorySeconds()
    {
        // One random cycle through every slot (Sattolo's shuffle), so each read depends on the one before.
        var next = new int[Links];
        for (var i = 0; i < next.Length; i++)
        {
            next[i] = i;
        }
        var random = new Random(42);
        for (var i = next.Length - 1; i > 0; i--)
        {
            var j = random.Next(i);
            (next[i], next[j]) = (next[j], next[i]);
        }
        var clock = Stopwatch.StartNew();
        var at = 0;
        for (var step = 0; step < Steps; step++)
        {
            at = next[at];
        }
        var seconds = clock.Elapsed.TotalSeconds;
        GC.KeepAlive(at);
        return seconds;
    }
}
