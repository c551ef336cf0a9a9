using System.Globalization;

namespace StreamBets.Messaging.Benchmarks;

/// <summary>
/// CPU seconds used by this process, the PostgreSQL server (postmaster, its live backends and its reaped children) and
/// Redis, read from /proc. On a shared 2-core box wall-clock rates measure the neighbours; CPU per event does not.
/// </summary>
internal sealed class CpuMeter(int postgresPort, int redisPort)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux.

    public readonly record struct Sample(double Bus, double Postgres, double Redis)
    {
        public static Sample operator -(Sample a, Sample b) => new(a.Bus - b.Bus, a.Postgres - b.Postgres, a.Redis - b.Redis);

        public double Total => Bus + Postgres + Redis;
    }

    public Sample Read()
    {
        var stats = Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? Stat(pid) : null)
            .Where(s => s is not null)
            .Select(s => s!)
            .ToList();
        var self = stats.First(s => s.Pid == Environment.ProcessId);
        var postmaster = stats.First(s => CommandLine(s.Pid).Contains($"-p\0{postgresPort}", StringComparison.Ordinal) && s.Name == "postgres");
        var backends = stats.Where(s => s.Parent == postmaster.Pid);
        var redis = stats.First(s => s.Name == "redis-server" && CommandLine(s.Pid).Contains($":{redisPort}", StringComparison.Ordinal));
        return new Sample(
            self.Own / TicksPerSecond,
            (postmaster.Own + postmaster.Children + backends.Sum(b => b.Own)) / TicksPerSecond,
            redis.Own / TicksPerSecond);
    }

    private sealed record ProcStat(int Pid, string Name, int Parent, long Own, long Children);

    private static ProcStat? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var open = text.IndexOf('(');
            var close = text.LastIndexOf(')');
            var fields = text[(close + 2)..].Split(' ');
            long F(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
            // After "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14.
            return new ProcStat(pid, text[(open + 1)..close], (int)F(1), F(11) + F(12), F(13) + F(14));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return "";
        }
    }
}
