using System.Diagnostics;

namespace StreamBets.Testing;

/// <summary>
/// StreamBets services each in its own process from their <paramref name="configuration"/> build, wired by environment
/// variables the way the AppHost wires them (benchmarks: a service sharing the harness's process would measure the
/// harness too; crash tests: only a process of its own can be killed). Their output goes to
/// <c>{logDirectory}/{project}.log</c>; disposing kills them.
/// </summary>
public sealed class ServiceProcesses(string logDirectory, string configuration = "Release") : IAsyncDisposable
{
    private readonly List<Process> _processes = [];
    private readonly Dictionary<string, Process> _byName = [];

    /// <summary>
    /// The environment every service process of one run shares (logs at Warning; add per-service settings to it, and
    /// <c>Auth__SigningKey</c> for Users).
    /// </summary>
    public static Dictionary<string, string> CommonEnvironment(string redisConnectionString, TestTokens tokens, string busPrefix) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Development",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
        ["ConnectionStrings__redis"] = redisConnectionString,
        ["Auth__PublicKey"] = tokens.PublicKey,
        ["Messaging__RedisStreams__KeyPrefix"] = busPrefix,
    };

    /// <summary>Starts <c>services/{project}</c> on <paramref name="ports"/> and waits for its /health; answers its REST base URL.</summary>
    public async Task<string> StartAsync(string project, ServicePorts ports, IReadOnlyDictionary<string, string> environment, string? logName = null)
    {
        var dll = Path.Combine(RepositoryRoot(), "services", project, "bin", configuration, "net10.0", $"{project}.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build the services first: dotnet build -c {configuration} services/{project}", dll);
        }

        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        start.Environment["Kestrel__Endpoints__http__Url"] = ports.HttpUrl;
        start.Environment["Kestrel__Endpoints__grpc__Url"] = ports.GrpcUrl;

        var process = Process.Start(start)!;
        _processes.Add(process);
        _byName[logName ?? project] = process;
        var log = new StreamWriter(Path.Combine(logDirectory, $"{logName ?? project}.log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{project} exited with code {process.ExitCode}; see {logDirectory}/{project}.log");
            }
            try
            {
                if ((await http.GetAsync($"{ports.HttpUrl}/health")).IsSuccessStatusCode)
                {
                    Console.WriteLine($"{project} is up at {ports.HttpUrl} (gRPC on {ports.Grpc})");
                    return ports.HttpUrl;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"{project} did not become healthy; see {logDirectory}/{project}.log");
    }

    /// <summary>
    /// Kills the process started as <paramref name="name"/> (its log name, or its project) with SIGKILL, as a crash or an
    /// OOM kill does: no shutdown code runs, and the OS closes its sockets. Answers its exit code once it is gone.
    /// </summary>
    public async Task<int> KillAsync(string name)
    {
        var process = _byName[name];
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StreamBets.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Run the harness from inside the repository.");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }
        _processes.Clear();
    }
}
