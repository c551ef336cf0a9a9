using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace StreamBets.Users.Kyc;

/// <summary>
/// Decides checks whose completion webhook never came. Every <see cref="KycPollOptions.Every"/>, each configured provider is
/// asked (<see cref="IKycProvider.GetCheckResultAsync"/>) about its checks pending longer than
/// <see cref="KycPollOptions.PendingLongerThan"/>, oldest first, and a told result is applied through
/// <see cref="KycWebhookReceiver.ApplyResultAsync"/>, exactly as the webhook would. A check still in progress is left for a
/// later round; a provider that fails is asked again the next round.
/// </summary>
/// <remarks>
/// Every replica polls. Two asking about one check cost a second read at the provider and nothing more: the decision locks
/// the check and moves it only while it is pending. The sandbox provider is polled too, harmlessly: it tells a check's
/// result from its id, the same result its completer delivers.
/// </remarks>
public sealed partial class PendingKycCheckPoller(
    KycProviders providers, KycChecks checks, KycWebhookReceiver receiver, IOptions<KycOptions> options, TimeProvider time,
    ILogger<PendingKycCheckPoller> logger) : BackgroundService
{
    /// <summary>
    /// Per provider, the last check (creation time, then id) a full round asked about: the next round goes on after it, so
    /// checks the provider keeps in progress (paused, reopened) cannot hold the oldest places of every round for ever.
    /// Back to the oldest once a round finds fewer than it may ask about.
    /// </summary>
    private readonly ConcurrentDictionary<string, PendingProviderCheck> _resumeAfter = new(StringComparer.Ordinal);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicRounds.RunAsync(options.Value.Poll.Every, time, PollAsync, e => LogRoundFailed(logger, e), stoppingToken);

    /// <summary>One round: answers how many checks it decided.</summary>
    public async Task<int> PollAsync(CancellationToken cancellationToken)
    {
        var poll = options.Value.Poll;
        var limit = Math.Max(1, poll.MaxChecksPerRound);
        var decided = 0;
        foreach (var provider in providers.Configured)
        {
            var after = _resumeAfter.GetValueOrDefault(provider.Name);
            var due = await checks.PendingProviderChecksAsync(
                provider.Name, after, time.GetUtcNow() - poll.PendingLongerThan, limit, cancellationToken);
            if (due.Count < limit)
            {
                _resumeAfter.TryRemove(provider.Name, out _);
            }
            else
            {
                _resumeAfter[provider.Name] = due[^1];
            }
            foreach (var (providerCheckId, _, _) in due)
            {
                if (await DecideAsync(provider, providerCheckId, cancellationToken))
                {
                    decided++;
                }
            }
        }
        return decided;
    }

    private async Task<bool> DecideAsync(IKycProvider provider, string providerCheckId, CancellationToken cancellationToken)
    {
        KycCheckResult? result;
        try
        {
            result = await provider.GetCheckResultAsync(providerCheckId, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            // The provider logged why (OnfidoUnavailable, OnfidoCredentialsRefused, ...); the check waits for the next round.
            LogPollFailed(logger, provider.Name, providerCheckId, e);
            return false;
        }
        if (result is not { } told)
        {
            return false; // still in progress at the provider
        }
        var outcome = await receiver.ApplyResultAsync(provider.Name, providerCheckId, told, cancellationToken);
        if (outcome.Value is { Outcome: "applied" })
        {
            LogDecidedByPoll(logger, provider.Name, providerCheckId);
            return true;
        }
        return false; // decided meanwhile by its webhook or another replica
    }

    [LoggerMessage(EventId = 330, EventName = "KycCheckDecidedByPoll", Level = LogLevel.Information,
        Message = "The {Provider} check {ProviderCheckId} was decided by polling the provider: its completion webhook never came")]
    private static partial void LogDecidedByPoll(ILogger logger, string provider, string providerCheckId);

    [LoggerMessage(EventId = 331, EventName = "KycPollFailed", Level = LogLevel.Warning,
        Message = "Could not ask {Provider} about the pending check {ProviderCheckId}; asking again the next round")]
    private static partial void LogPollFailed(ILogger logger, string provider, string providerCheckId, Exception exception);

    [LoggerMessage(EventId = 332, EventName = "KycPollRoundFailed", Level = LogLevel.Warning,
        Message = "A round polling the KYC providers about pending checks failed; next round as usual")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
