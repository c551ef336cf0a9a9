using System.Globalization;

namespace StreamBets.Testing;

/// <summary>What /proc says about processes: the tree under one, and each one's parent and CPU time.</summary>
internal static class Procfs
{
    /// <summary>The process and all its descendants, root first.</summary>
    public static List<int> Tree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && TryReadStat(pid, out var parent, out _, out _))
            {
                (children.TryGetValue(parent, out var siblings) ? siblings : children[parent] = []).Add(pid);
            }
        }

        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
        {
            tree.AddRange(children.GetValueOrDefault(tree[i]) ?? []);
        }
        return tree;
    }

    /// <summary>
    /// A process's parent, its user + system CPU time in clock ticks, and that of its children which ended and which it
    /// waited for (a PostgreSQL server's parallel workers, say); false when it ended while we looked.
    /// </summary>
    public static bool TryReadStat(int pid, out int parent, out long cpuTicks, out long endedChildrenTicks)
    {
        (parent, cpuTicks, endedChildrenTicks) = (0, 0, 0);
        try
        {
            // "pid (comm) state ppid ... utime stime ...": comm may hold spaces, so read the fields after its last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
            cpuTicks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            endedChildrenTicks = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return false;
        }
    }
}
