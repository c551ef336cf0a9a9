using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StreamBets.Gateway.Health;

/// <summary>
/// The gateway's <c>/health</c> is public and not rate limited (an orchestrator's probes must never be refused), and its
/// Redis check pings Redis: one ping per probe would let anyone turn a flood of probes into Redis load. So each check's
/// result is shared: a probe arriving while a check runs waits for that run, and one arriving within
/// <see cref="FreshFor"/> of its end gets its result. Redis sees at most one ping per check a second, however many
/// probes come, and a Redis outage shows within a second of the next probe.
/// </summary>
internal static class ReusedHealthResults
{
    public static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(1);

    /// <summary>Shares the result of every health check registered, whatever registered it (ServiceDefaults' Redis check).</summary>
    public static IServiceCollection ReuseHealthResults(this IServiceCollection services)
    {
        // PostConfigure: after every AddHealthChecks registration, and the factory swapped in place keeps each
        // registration's timeout, tags and failure status.
        services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations)
            {
                var shared = new SharedCheck(registration.Factory);
                registration.Factory = services => new SharingCheck(shared, services);
            }
        });
        return services;
    }

    /// <summary>One registration's latest run, shared by every probe.</summary>
    private sealed class SharedCheck(Func<IServiceProvider, IHealthCheck> create)
    {
        private readonly Lock _lock = new();
        private Task<HealthCheckResult>? _run;
        private long _endedAt;

        public Task<HealthCheckResult> ResultAsync(IServiceProvider services, HealthCheckContext context, CancellationToken cancellationToken)
        {
            var time = services.GetRequiredService<TimeProvider>();
            Task<HealthCheckResult> run;
            lock (_lock)
            {
                if (_run is null || (_run.IsCompleted && time.GetElapsedTime(Volatile.Read(ref _endedAt)) >= FreshFor))
                {
                    _run = RunAsync(create(services), context, time);
                }
                run = _run;
            }
            // A probe that gives up (the check's timeout) leaves the run to end for the others.
            return run.WaitAsync(cancellationToken);
        }

        private async Task<HealthCheckResult> RunAsync(IHealthCheck check, HealthCheckContext context, TimeProvider time)
        {
            try
            {
                // Not the first probe's token: its timeout must not end the run every other probe waits on. The check
                // ends by its store client's own timeout.
                return await check.CheckHealthAsync(context, CancellationToken.None);
            }
            finally
            {
                Volatile.Write(ref _endedAt, time.GetTimestamp());
            }
        }
    }

    private sealed class SharingCheck(SharedCheck shared, IServiceProvider services) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            shared.ResultAsync(services, context, cancellationToken);
    }
}
