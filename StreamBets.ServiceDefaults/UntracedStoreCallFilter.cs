using System.Diagnostics;
using OpenTelemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Drops PostgreSQL and Redis spans that belong to no trace: the background polls of the event bus consumers, the outbox
/// relays and the sweepers. An idle local app made about 900 of them a second; exported, each became a trace of its own,
/// buried the traces of real requests in the dashboard and kept the dashboard busy with most of a core. Store calls made
/// inside a request, an event handler or a job's own activity have a parent and are kept.
/// </summary>
internal sealed class UntracedStoreCallFilter : BaseProcessor<Activity>
{
    // Npgsql's source, and the Redis instrumentation's (Aspire.StackExchange.Redis carries it).
    private static readonly HashSet<string> StoreSources = ["Npgsql", "OpenTelemetry.Instrumentation.StackExchangeRedis"];

    public override void OnStart(Activity data)
    {
        if (data.ParentSpanId == default && StoreSources.Contains(data.Source.Name))
        {
            // Not recorded: the export processors skip it. Not all data requested: the client skips its tags.
            data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            data.IsAllDataRequested = false;
        }
    }
}
