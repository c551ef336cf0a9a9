namespace StreamBets.Analytics.ClickHouse;

/// <summary>
/// Pings ClickHouse once, with the health check's client, before the server listens. The first /health probe of a
/// fresh process otherwise paid for compiling the whole HTTP client path and opening the connection; on a busy
/// two-core box that overran the 5 s health-check timeout, so a healthy start logged an error. A failure here only
/// warns: /health reports the server as it finds it.
/// </summary>
public sealed partial class ClickHouseWarmup([FromKeyedServices(ClickHouseDefaults.HealthClientName)] HttpClient http, ILogger<ClickHouseWarmup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.GetAsync("ping", timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                LogNotReady(logger, $"it answered {(int)response.StatusCode}");
            }
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogNotReady(logger, e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, EventName = "ClickHouseNotReady", Level = LogLevel.Warning, Message = "ClickHouse did not answer /ping at start-up ({Reason}); starting anyway")]
    private static partial void LogNotReady(ILogger logger, string reason);
}
