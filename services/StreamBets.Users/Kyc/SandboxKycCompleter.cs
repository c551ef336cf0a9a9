using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace StreamBets.Users.Kyc;

/// <summary>
/// Local mode's stand-in for the provider's servers: once a sandbox check has waited
/// <see cref="SandboxKycOptions.CompletionDelay"/>, it signs the documented check.completed webhook and
/// delivers it through <see cref="KycWebhookReceiver"/>, the same path as the HTTP endpoint. The
/// pending checks are read from the database, so a restart loses none.
/// </summary>
public sealed partial class SandboxKycCompleter(
    SandboxKycProvider sandbox, KycChecks checks, KycWebhookReceiver receiver, IOptions<KycOptions> options, TimeProvider time,
    ILogger<SandboxKycCompleter> logger) : BackgroundService
{
    public static readonly ActivitySource ActivitySource = new("StreamBets.Users.Kyc");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!sandbox.IsConfigured)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.Sandbox.PollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CompleteDueChecksAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogCompletionFailed(logger, e);
            }
        }
    }

    private async Task CompleteDueChecksAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var (providerCheckId, _, _) in await checks.PendingProviderChecksAsync(
            sandbox.Name, after: null, now - options.Value.Sandbox.CompletionDelay, limit: 50, cancellationToken))
        {
            // A trace per delivery, as a real provider's webhook request is one: the KYC events it writes continue it.
            using var activity = ActivitySource.StartActivity("deliver sandbox KYC webhook");
            activity?.SetTag("streambets.kyc.provider_check_id", providerCheckId);
            var body = SandboxKycProvider.CompletedWebhook(providerCheckId, now).ToUtf8Bytes();
            var outcome = await receiver.ReceiveAsync(sandbox.Name, body, OnfidoWebhookSignature.Sign(body, sandbox.WebhookToken), cancellationToken);
            if (outcome.Error is { } error)
            {
                LogDeliveryRejected(logger, providerCheckId, error.Code);
            }
        }
    }

    [LoggerMessage(EventId = 310, EventName = "SandboxKycCompletionFailed", Level = LogLevel.Error, Message = "Sandbox KYC completion failed; retrying at the next tick")]
    private static partial void LogCompletionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 311, EventName = "SandboxKycDeliveryRejected", Level = LogLevel.Warning, Message = "Sandbox webhook for check {ProviderCheckId} was rejected: {Code}")]
    private static partial void LogDeliveryRejected(ILogger logger, string providerCheckId, string code);
}
