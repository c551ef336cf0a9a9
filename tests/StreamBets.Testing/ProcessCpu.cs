using System.Globalization;
using System.Text;

namespace StreamBets.Testing;

/// <summary>
/// CPU time of this process and of every process it started (the services, PostgreSQL and its backends, Redis), by role,
/// read from /proc: where a benchmark's CPU went, without a profiler. A PostgreSQL backend counts under its database.
/// A process that exits between two samples loses its time (the services' pooled connections live through a run).
/// </summary>
public sealed class ProcessCpu
{
    private const double TicksPerSecond = 100; // USER_HZ, the unit of utime and stime in /proc/<pid>/stat

    private readonly Dictionary<int, (string Role, long Ticks)> _processes;

    private ProcessCpu(Dictionary<int, (string Role, long Ticks)> processes) => _processes = processes;

    public static ProcessCpu Sample()
    {
        var processes = new Dictionary<int, (string, long)>();
        foreach (var pid in Procfs.Tree(Environment.ProcessId))
        {
            if (Procfs.TryReadStat(pid, out _, out var ticks))
            {
                processes[pid] = (Role(pid), ticks);
            }
        }
        return new ProcessCpu(processes);
    }

    /// <summary>CPU seconds per role between two samples, and milliseconds per unit of work (a bet, say).</summary>
    public static string Report(ProcessCpu before, ProcessCpu after, double seconds, long units, string unit)
    {
        var byRole = new Dictionary<string, long>();
        foreach (var (pid, (role, ticks)) in after._processes)
        {
            var used = ticks - (before._processes.TryGetValue(pid, out var earlier) ? earlier.Ticks : 0);
            byRole[role] = byRole.GetValueOrDefault(role) + used;
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
