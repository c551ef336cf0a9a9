using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// How an edge (the gateway, the player site, the operators' console: what the internet reaches) reads a request's trace
/// context: a request from the internet starts a new trace there. The caller's context would otherwise decide whether its
/// requests are traced in every service (sampled flag 00 drops them), choose the trace id their logs and problem details
/// show, and carry its tracestate and baggage (up to Kestrel's 32 KB of headers) to every service and into every event
/// written for it. Internal services do not call this: their callers are the edges and each other.
/// </summary>
public static class EdgeTracing
{
    /// <summary>W3C Trace Context and Baggage, and the legacy pair .NET's default propagator also reads.</summary>
    private static readonly string[] TraceHeaders = ["traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context"];

    /// <summary>Makes ASP.NET Core's hosting, which reads each request's trace context before anything else sees it, start a new trace.</summary>
    /// <param name="trusted">
    /// Built once from the app's services: whether a request comes from a caller whose trace continues here (the gateway's
    /// vouching front ends). Without it, every request starts a new trace.
    /// </param>
    public static TBuilder AddEdgeTracing<TBuilder>(this TBuilder builder, Func<IServiceProvider, Func<IHeaderDictionary, bool>>? trusted = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddSingleton<DistributedContextPropagator>(services => new EdgeTracePropagator(trusted?.Invoke(services) ?? (_ => false)));
        return builder;
    }

    private sealed class EdgeTracePropagator(Func<IHeaderDictionary, bool> trusted) : DistributedContextPropagator
    {
        private readonly DistributedContextPropagator _default = Current;

        public override IReadOnlyCollection<string> Fields => _default.Fields;

        public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) => _default.Inject(activity, carrier, setter);

        public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
        {
            (traceId, traceState) = (null, null);
            if (FromTrustedCaller(carrier))
            {
                _default.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);
            }
        }

        public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
            FromTrustedCaller(carrier) ? _default.ExtractBaggage(carrier, getter) : null;

        /// <summary>
        /// Anyone else's trace headers are removed, not only ignored: OpenTelemetry's ASP.NET Core instrumentation reads them
        /// again and would parent the request's span on them (and take their baggage), and YARP would copy them on.
        /// </summary>
        private bool FromTrustedCaller(object? carrier)
        {
            if (carrier is not IHeaderDictionary headers)
            {
                return false;
            }
            if (trusted(headers))
            {
                return true;
            }
            foreach (var header in TraceHeaders)
            {
                headers.Remove(header);
            }
            return false;
        }
    }
}
