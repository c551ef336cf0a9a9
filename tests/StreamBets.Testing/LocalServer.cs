using System.Diagnostics;

namespace StreamBets.Testing;

/// <summary>
/// A server process from the machine's packages, on a free loopback port with its data in a temp folder.
/// Tests can stop and start it again (same port, same data) to inject faults.
/// </summary>
public abstract class LocalServer : IAsyncDisposable
{
    private Process? _process;

    // Servers shared by a whole test run are never disposed. At exit every one is killed first (the test host may be cut
    // short), then their files are removed: each ./test.sh left about 1.5 GB of PostgreSQL clusters in /tmp otherwise.
    private static readonly List<LocalServer> Started = [];

    /// <summary>Where every local server keeps its data (and <see cref="HostSpeed"/> times its disk).</summary>
    internal static readonly string Root = Path.Combine(Path.GetTempPath(), "streambets-tests");
    private const string OwnerFile = "owner.pid";

    /// <summary>An ended run's server logs are kept this long for reading after a failure, then go with their folder.</summary>
    private static readonly TimeSpan LogsKeptFor = TimeSpan.FromDays(2);

    /// <summary>
    /// The exit handler may be cut short before it removed everything, so each process first removes the files of
    /// servers whose owning process is gone, and whole folders once their logs are old (every server of every run leaves
    /// one: some 1,500 a day on a busy machine). A folder without an owner file (just being created) is left alone.
    /// </summary>
    private static void SweepServersOfEndedProcesses()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }
        foreach (var directory in Directory.EnumerateDirectories(Root))
        {
            try
            {
                var owner = Path.Combine(directory, OwnerFile);
                if (File.Exists(owner) && int.TryParse(File.ReadAllText(owner), out var pid) && !Directory.Exists($"/proc/{pid}"))
                {
                    if (File.GetLastWriteTimeUtc(owner) < DateTime.UtcNow - LogsKeptFor)
                    {
                        Directory.Delete(directory, recursive: true);
                    }
                    else
                    {
                        RemoveDataKeepingLogs(directory);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another process swept it at the same time, or a file in it is not ours to delete.
            }
        }
    }

    static LocalServer()
    {
        SweepServersOfEndedProcesses();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAllThenRemoveTheirData();
    }

    private static void KillAllThenRemoveTheirData()
    {
        LocalServer[] servers;
        lock (Started)
        {
            servers = [.. Started];
        }
        foreach (var server in servers)
        {
            server.Kill();
        }
        foreach (var server in servers)
        {
            RemoveDataKeepingLogs(server.DataDirectory);
        }
    }

    protected LocalServer(string name)
    {
        Name = name;
        DataDirectory = Path.Combine(Root, $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(DataDirectory);
        File.WriteAllText(Path.Combine(DataDirectory, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Port = InProcessServices.FreePort();
        lock (Started)
        {
            Started.Add(this);
        }
    }

    public string Name { get; }
    public string DataDirectory { get; }
    public int Port { get; }
    public bool IsRunning => _process is { HasExited: false };

    protected static string ScriptPath(string script) => Path.Combine(AppContext.BaseDirectory, "LocalServers", script);

    protected abstract ProcessStartInfo StartInfo();

    protected abstract Task<bool> AnswersAsync();

    public async Task StartAsync(TimeSpan? timeout = null)
    {
        if (IsRunning)
        {
            return;
        }

        var info = StartInfo();
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var log = new StreamWriter(Path.Combine(DataDirectory, $"{Name}.log"), append: true) { AutoFlush = true };
        _process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Generous: initdb alone can take tens of seconds on a busy two-core machine.
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}; see {DataDirectory}/{Name}.log");
            }
            if (await AnswersAsync())
            {
                return;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Name} did not answer within the timeout; see {DataDirectory}/{Name}.log");
    }

    /// <summary>Stops the server abruptly, as a crash would.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is null || process.HasExited)
        {
            return;
        }
        var tree = Procfs.Tree(process.Id);
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        // Every process of the tree must be gone (PostgreSQL refuses to start while its old
        // postmaster still exists) and the port free before a restart binds it.
        for (var i = 0; i < 100 && (tree.Any(pid => Directory.Exists($"/proc/{pid}")) || !InProcessServices.IsFree(Port)); i++)
        {
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        RemoveDataKeepingLogs(DataDirectory);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The server's files go, its logs stay: a 1,000,000-bet benchmark left about 5 GB behind per run, and test runs
    /// piled up a PostgreSQL cluster each under /tmp/streambets-tests.
    /// </summary>
    private static void RemoveDataKeepingLogs(string directory)
    {
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else if (!entry.EndsWith(".log", StringComparison.Ordinal) && Path.GetFileName(entry) != OwnerFile)
                {
                    File.Delete(entry);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a file still held open stays behind.
        }
    }

    /// <summary>
    /// At the test process's exit: SIGKILL every process of the server's tree, one by one. Process.Kill(entireProcessTree)
    /// threw here for PostgreSQL (its postmaster runs as another user under runuser), and an exception in a ProcessExit
    /// handler left every test run's PostgreSQL running after the run.
    /// </summary>
    private void Kill()
    {
        if (_process is not { } process)
        {
            return;
        }
        try
        {
            foreach (var pid in Procfs.Tree(process.Id))
            {
                try
                {
                    using var member = Process.GetProcessById(pid);
                    member.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Already gone.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // /proc unreadable: nothing more to do at exit.
        }
    }
}
