using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace StreamBets.AppHost.Testing;

/// <summary>
/// The whole StreamBets AppHost in local mode, started once for every test in the collection,
/// with its own throw-away data folder and every resource healthy before the first test runs.
/// </summary>
public partial class LocalModeAppFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartupTimeout = TimeSpan.FromMinutes(4);

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "streambets-apphost-tests", Guid.NewGuid().ToString("N"));

    public DistributedApplication App { get; private set; } = null!;

    public TimeSpan TimeToAllHealthy { get; private set; }
    public IReadOnlyList<string> ProjectNames { get; private set; } = [];

    /// <summary>Every console line each resource wrote, by resource name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ResourceLogLines
    {
        get { lock (_lines) { return _lines.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value.ToList()); } }
    }

    private readonly Dictionary<string, List<string>> _lines = [];

    /// <summary>Every resource's console output next to the test results (bin/.../apphost-logs), for a failure seen only in CI.</summary>
    private void SaveResourceLogs()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "apphost-logs");
        Directory.CreateDirectory(folder);
        foreach (var (resource, lines) in ResourceLogLines)
        {
            File.WriteAllLines(Path.Combine(folder, $"{resource}.log"), lines);
        }
    }

    private readonly CancellationTokenSource _stopCollecting = new();
    private Task _collecting = Task.CompletedTask;

    /// <summary>
    /// Follows every resource instance's console output from the moment DCP names it. Logs are kept under the DCP
    /// instance name (users-abcd1234), which exists only once the app starts: before that, WatchAsync by name or by
    /// resource watches the bare name ("users"), a stream nobody writes to, so session 2 collected nothing. The
    /// notification stream reports each instance as soon as DCP creates it, and DCP streams a log from its first line
    /// to whoever subscribes, so nothing is lost however late the watch begins.
    /// </summary>
    private async Task CollectLogsAsync(ResourceNotificationService notifications, ResourceLoggerService logs, HashSet<string> ours, CancellationToken stop)
    {
        var watched = new HashSet<string>();
        var watches = new List<Task>();
        try
        {
            await foreach (var change in notifications.WatchAsync(stop))
            {
                if (ours.Contains(change.Resource.Name) && watched.Add(change.ResourceId))
                {
                    watches.Add(CollectInstanceLogsAsync(logs, change.Resource.Name, change.ResourceId, stop));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await Task.WhenAll(watches);
    }

    private async Task CollectInstanceLogsAsync(ResourceLoggerService logs, string resourceName, string instanceName, CancellationToken stop)
    {
        try
        {
            await foreach (var batch in logs.WatchAsync(instanceName).WithCancellation(stop))
            {
                lock (_lines)
                {
                    var lines = _lines.TryGetValue(resourceName, out var existing) ? existing : _lines[resourceName] = [];
                    lines.AddRange(batch.Select(line => AnsiEscape().Replace(line.Content, "")));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The console logger colours its level ("\e[41m\e[30mfail\e[39m\e[22m\e[49m:"), so a plain search for "fail:"
    /// misses every error; the lines are kept without the colours.
    /// </summary>
    [GeneratedRegex(@"\x1B\[[0-9;]*[A-Za-z]")]
    private static partial Regex AnsiEscape();

    public async Task InitializeAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.StreamBets_AppHost>(
        [
            "--StreamBets:Infrastructure=Local",
            $"--StreamBets:DataDirectory={_dataDirectory}",
            // Free ports instead of the fixed 5100/5200/... so a running ./run.sh never collides with the tests.
            "--DcpPublisher:RandomizePorts=true",
            "--DcpPublisher:ContainerRuntimeInitializationTimeout=00:00:00",
        ]);

        ProjectNames = builder.Resources.OfType<ProjectResource>().Select(r => r.Name).ToList();
        // Aspire adds hidden helper resources (such as project rebuilders) that never start; only ours matter.
        var ours = builder.Resources.Where(r => r is ProjectResource || r.GetType().Name == "LocalServerResource").ToList();
        App = await builder.BuildAsync();
        var notifications = App.Services.GetRequiredService<ResourceNotificationService>();
        _collecting = CollectLogsAsync(notifications, App.Services.GetRequiredService<ResourceLoggerService>(),
            ours.Select(r => r.Name).ToHashSet(), _stopCollecting.Token);

        var stopwatch = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(StartupTimeout);
        try
        {
            await App.StartAsync(timeout.Token);
            await Task.WhenAll(ours.Select(resource => notifications.WaitForResourceHealthyAsync(resource.Name, timeout.Token)));
        }
        catch
        {
            SaveResourceLogs(); // a start that failed or timed out is when the logs matter most
            throw;
        }
        TimeToAllHealthy = stopwatch.Elapsed;
    }

    /// <summary>
    /// A service's own database on the app's PostgreSQL, as the AppHost hands it to the service
    /// (<c>ConnectionStrings__{database}</c>): for tests that check what a service wrote, such as the ledger in usersdb.
    /// </summary>
    public async Task<string> DatabaseConnectionStringAsync(string database) =>
        $"{await App.GetConnectionStringAsync("postgres") ?? throw new InvalidOperationException("The app has no PostgreSQL.")};Database={database}";

    /// <summary>
    /// GETs a path until it answers 200, for up to a minute: a service that has just turned healthy
    /// can still be warming up (JIT, first connections) on a busy two-core machine.
    /// </summary>
    public async Task<(HttpStatusCode Status, string Body)> GetWhenReadyAsync(string resource, string path)
    {
        using var http = new HttpClient { BaseAddress = App.GetEndpoint(resource, "http"), Timeout = TimeSpan.FromSeconds(15) };
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(path);
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.OK || DateTime.UtcNow > deadline)
                {
                    return (response.StatusCode, body);
                }
            }
            catch (Exception e) when ((e is HttpRequestException or TaskCanceledException) && DateTime.UtcNow < deadline)
            {
                // Not answering yet; try again.
            }
            await Task.Delay(500);
        }
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            // The last lines (shutdown) have arrived once the app has stopped; then end the watches.
            await _stopCollecting.CancelAsync();
            await _collecting;
            await App.DisposeAsync();
        }
        _stopCollecting.Dispose();
        SaveResourceLogs();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A server may still be flushing; the folder is under /tmp.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
