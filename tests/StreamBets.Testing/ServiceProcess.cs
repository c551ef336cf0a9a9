using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace StreamBets.Testing;

/// <summary>
/// A service's Release build in its own process, the way the benchmarks run services: configured through environment
/// variables (<c>Kestrel__Endpoints__http__Url</c> is set from the port), its output in a log file, and ready once its
/// <c>/health</c> answers.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServiceProcess(Process process, StreamWriter log, string url)
    {
        _process = process;
        _log = log;
        Url = url;
    }

    public string Url { get; }

    /// <param name="project">"StreamBets.Realtime": built with <c>dotnet build -c Release services/{project}</c>.</param>
    public static async Task<ServiceProcess> StartAsync(string project, int httpPort, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var dll = Path.Combine(RepositoryRoot(), "services", project, "bin", "Release", "net10.0", $"{project}.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build the service first: dotnet build -c Release services/{project}", dll);
        }

        var url = $"http://127.0.0.1:{httpPort}";
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
        start.Environment["Kestrel__Endpoints__http__Url"] = url;

        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var service = new ServiceProcess(process, log, url);
        try
        {
            await service.WaitUntilHealthyAsync(project, logPath);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
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
        throw new InvalidOperationException("Run from inside the repository.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private async Task WaitUntilHealthyAsync(string project, string logPath)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{project} exited with code {_process.ExitCode}; see {logPath}");
            }
            try
            {
                if ((await http.GetAsync($"{Url}/health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"{project} did not become healthy; see {logPath}");
    }
}
