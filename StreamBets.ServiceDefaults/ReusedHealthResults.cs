using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Every service's <c>/health</c> is reachable from the internet (the gateway's own, not rate limited so an
/// orchestrator's probes are never refused, and each service's through the gateway's <c>/health/{service}</c>, 20 a
/// second per address), and its checks open database connections and ping Redis. One run per probe would let anyone turn
/// a flood of probes into store load, and during a database slowdown into checks holding the connections players' requests
/// wait for. So each check's result is shared: a probe arriving while a check runs waits for that run, and one arriving
/// within <see cref="FreshFor"/> of its end gets its result. A store sees at most one check per registration a second,
/// however many probes come, and an outage shows within a second of the next probe. A run still going after its
/// registration's timeout is given up on (<see cref="RunLifetime"/>): the next probe starts another. Only one given up on
/// is let go on at a time: while it has not ended, a run that outlives its timeout too is not replaced, and probes are
/// answered at once with the registration's failure status, so a check that hangs for good holds two runs (tasks and
/// scopes), not one more per timeout.
/// </summary>
public static class ReusedHealthResults
{
    public static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a run is waited on when its registration has no timeout: longer than a store client's own (Redis's 5 s,
    /// Npgsql's 30 s command timeout), and no more than a kubelet's default readiness failure (3 probes 10 s apart).
    /// ServiceDefaults gives every registration without a timeout 5 s, so this is a backstop.
    /// </summary>
    public static readonly TimeSpan UnboundedRunLifetime = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The key of the clock that times runs and results: the real one, not the service's <see cref="TimeProvider"/>, which
    /// tests replace with a fake that stands still (the Pools tests'), and a result fresh on a frozen clock would be
    /// reused for good. A test that needs the sharing's own time to stand still registers a keyed clock of its own.
    /// </summary>
    public const string ClockKey = "reused-health-results";

    /// <summary>Shares the result of every health check registered, whatever registered it (the Redis check, a service's stores).</summary>
    internal static IServiceCollection ReuseHealthResults(this IServiceCollection services)
    {
        services.TryAddKeyedSingleton(ClockKey, TimeProvider.System);
        // PostConfigure: after every AddHealthChecks registration, and the factory swapped in place keeps each
        // registration's timeout, tags and failure status.
        services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations)
            {
                // The registrations are the same objects each time the options are built (a monitor's, a snapshot's):
                // one wrapped already is left alone, or each build would nest another sharing layer.
                if (registration.Factory.Target is SharedCheck)
                {
                    continue;
                }
                registration.Factory = new SharedCheck(registration.Factory).CheckFor;
            }
        });
        return services;
    }

    /// <summary>How long a run may be waited on and joined: its registration's timeout, or a bound when it has none.</summary>
    private static TimeSpan RunLifetime(HealthCheckRegistration registration) =>
        registration.Timeout > TimeSpan.Zero ? registration.Timeout : UnboundedRunLifetime;

    /// <summary>One registration's latest run, shared by every probe.</summary>
    private sealed class SharedCheck(Func<IServiceProvider, IHealthCheck> create)
    {
        private readonly Lock _lock = new();
        private Run? _run;

        /// <summary>The last run given up on while still going: none other is given up on until it ends.</summary>
        private Run? _abandoned;

        public IHealthCheck CheckFor(IServiceProvider services) => new SharingCheck(this, services);

        public Task<HealthCheckResult> ResultAsync(IServiceProvider services, HealthCheckContext context, CancellationToken cancellationToken)
        {
            var time = services.GetRequiredKeyedService<TimeProvider>(ClockKey);
            var lifetime = RunLifetime(context.Registration);
            Run run;
            lock (_lock)
            {
                if (_run is null || !_run.Answers(time, lifetime))
                {
                    if (_run is { Result.IsCompleted: false })
                    {
                        if (_abandoned is { Result.IsCompleted: false })
                        {
                            // Two runs hung already: a third would add a task and a scope to them every timeout, for good.
                            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus,
                                $"The check's previous run has not ended after its timeout ({(long)lifetime.TotalMilliseconds} ms): it is not run again until that run ends."));
                        }
                        _abandoned = _run;
                    }
                    // Its own scope, not the probe's: the probe's ends when the probe does (its timeout included), while
                    // the run goes on for the probes that joined it.
                    _run = Run.Start(create, services.GetRequiredService<IServiceScopeFactory>(), context, time, lifetime);
                }
                run = _run;
            }
            // A probe that gives up (the check's timeout) leaves the run to end for the others.
            return run.Result.WaitAsync(cancellationToken);
        }
    }

    /// <summary>One run of a check, in a scope of its own that ends with it.</summary>
    private sealed class Run
    {
        private readonly long _startedAt;
        private long _endedAt;

        private Run(long startedAt) => _startedAt = startedAt;

        public Task<HealthCheckResult> Result { get; private set; } = null!;

        public static Run Start(
            Func<IServiceProvider, IHealthCheck> create, IServiceScopeFactory scopes, HealthCheckContext context, TimeProvider time, TimeSpan lifetime)
        {
            var run = new Run(time.GetTimestamp());
            // On the thread pool: a check's synchronous part must not hold the lock every probe takes.
            run.Result = Task.Run(() => run.ExecuteAsync(create, scopes, context, time, lifetime));
            return run;
        }

        /// <summary>
        /// Whether a probe may take this run's result: it ended less than <see cref="FreshFor"/> ago, or it is still going
        /// and younger than <paramref name="lifetime"/>. Past that, every probe joining it would time out even once the
        /// dependency is back (a check that ignores cancellation and hangs), so a new run is started instead (unless the
        /// last run given up on has not ended either).
        /// </summary>
        public bool Answers(TimeProvider time, TimeSpan lifetime) => Result.IsCompleted
            ? time.GetElapsedTime(Volatile.Read(ref _endedAt)) < FreshFor
            : time.GetElapsedTime(_startedAt) < lifetime;

        private async Task<HealthCheckResult> ExecuteAsync(
            Func<IServiceProvider, IHealthCheck> create, IServiceScopeFactory scopes, HealthCheckContext context, TimeProvider time, TimeSpan lifetime)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                // Not the first probe's token: its timeout must not end the run every other probe waits on. The run's own
                // ends with its lifetime, when no probe joins it any more, as a lone probe's timeout would have.
                using var expiry = new CancellationTokenSource(lifetime, time);
                return await create(scope.ServiceProvider).CheckHealthAsync(context, expiry.Token);
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
