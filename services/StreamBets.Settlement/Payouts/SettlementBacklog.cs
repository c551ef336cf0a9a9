using StreamBets.Settlement.Data;

namespace StreamBets.Settlement.Payouts;

/// <summary>
/// Reads how many settlements are unfinished and how long the oldest has waited, and how many failed, for the backlog
/// gauges. A settlement that keeps retrying (a pending bet that is never decided, a refund the ledger refuses) stays
/// 'running' without failing, so its age is what an alert can catch; one that failed stays counted until an operator
/// requeues it, where the failures counter only ticks once (docs/settlement.md).
/// </summary>
public sealed partial class SettlementBacklog(SettlementStore store, TimeProvider time, ILogger<SettlementBacklog> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        var (waiting, oldestSince, failed) = await store.BacklogAsync(cancellationToken);
        SettlementTelemetry.ReportBacklog(waiting, oldestSince is { } since ? time.GetUtcNow() - since : TimeSpan.Zero, failed);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await ReportAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Only telemetry: nothing here may stop the service. The gauges keep their last values; settlementdb's
                // own health check reports an outage.
                LogReadFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 40, EventName = "SettlementBacklogReadFailed", Level = LogLevel.Warning, Message = "Reading the settlement backlog failed")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
