using System.Globalization;
using System.Text;

namespace StreamBets.Testing;

/// <summary>
/// CPU time of this process and of every process it started (the services, PostgreSQL and its backends, Redis), by role,
/// read from /proc: where a benchmark's CPU went, without a profiler. A PostgreSQL backend counts under its database.
/// A process that ends between two samples (a parallel query's worker, an autovacuum worker, a backend whose connection
/// closed) is counted from what its parent, which waited for it, adds to its children's time; its database is then
/// unknown.
/// </summary>
public sealed class ProcessCpu
{
    private const double TicksPerSecond = 100; // USER_HZ, the unit of utime and stime in /proc/<pid>/stat

    private const string EndedRole = "processes that ended in the window";

    private readonly Dictionary<int, (string Role, long Ticks, long EndedChildrenTicks)> _processes;

    private ProcessCpu(Dictionary<int, (string Role, long Ticks, long EndedChildrenTicks)> processes) => _processes = processes;

    public static ProcessCpu Sample()
    {
        var processes = new Dictionary<int, (string, long, long)>();
        foreach (var pid in Procfs.Tree(Environment.ProcessId))
        {
            if (Procfs.TryReadStat(pid, out _, out var ticks, out var endedChildrenTicks))
            {
                processes[pid] = (Role(pid), ticks, endedChildrenTicks);
            }
        }
        return new ProcessCpu(processes);
    }

    /// <summary>CPU seconds per role between two samples, and milliseconds per unit of work (a bet, say).</summary>
    public static string Report(ProcessCpu before, ProcessCpu after, double seconds, long units, string unit)
    {
        var byRole = new Dictionary<string, long>();
        var ended = 0L;
        foreach (var (pid, (role, ticks, endedChildrenTicks)) in after._processes)
        {
            var earlier = before._processes.GetValueOrDefault(pid);
            byRole[role] = byRole.GetValueOrDefault(role) + ticks - earlier.Ticks;
            ended += endedChildrenTicks - earlier.EndedChildrenTicks;
        }
        // A process seen in the first sample and gone by the second: its parent's children time now holds its whole life,
        // of which the part before the first sample is not in the window.
        ended -= before._processes.Where(p => !after._processes.ContainsKey(p.Key)).Sum(p => p.Value.Ticks);
        if (ended > 0)
        {
            byRole[EndedRole] = ended;
        }

        var total = byRole.Values.Sum() / TicksPerSecond;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"CPU of the processes this harness started, over {seconds:F1} s: {total:F1} CPU-s ({total / seconds:F2} cores), {1000 * total / units:F3} ms per {unit}");
        foreach (var (role, used) in byRole.Where(r => r.Value > 0).OrderByDescending(r => r.Value))
        {
            var cpuSeconds = used / TicksPerSecond;
            text.AppendLine(CultureInfo.InvariantCulture, $"  {role,-34} {cpuSeconds,7:F1} CPU-s {100 * cpuSeconds / total,5:F1} %  {1000 * cpuSeconds / units,7:F3} ms per {unit}");
        }
        return text.ToString().TrimEnd();
    }

    private static string Role(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return "harness (load generator)";
        }
        string[] args;
        try
        {
            args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return "other";
        }
        if (args.Length == 0)
        {
            return "other";
        }
        if (args.FirstOrDefault(a => a.EndsWith(".dll", StringComparison.Ordinal) && a.Contains("StreamBets.", StringComparison.Ordinal)) is { } dll)
        {
            return Path.GetFileNameWithoutExtension(dll);
        }
        // A backend's title is "postgres: <user> <database> <client> <activity>".
        var title = args[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (title is ["postgres:", _, var database, var client, ..] && (client.Contains('(') || client == "[local]"))
        {
            return $"PostgreSQL {database}";
        }
        if (args[0].StartsWith("postgres:", StringComparison.Ordinal) || args[0].EndsWith("/postgres", StringComparison.Ordinal))
        {
            return "PostgreSQL (server processes)";
        }
        return Path.GetFileName(args[0]) is "redis-server" || args[0].StartsWith("redis-server", StringComparison.Ordinal) ? "Redis" : "other";
    }
}
