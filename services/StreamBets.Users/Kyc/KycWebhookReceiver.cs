using Npgsql;

namespace StreamBets.Users.Kyc;

/// <summary>What a webhook did: "applied", "already-handled" (a redelivery) or "ignored" (an event we do not act on).</summary>
public sealed record WebhookReceipt(string Outcome);

/// <summary>
/// Receives provider webhooks: verifies the signature over the raw body before reading a byte of it,
/// then completes the check. The HTTP endpoint and the sandbox completer both come through here, and the
/// pending check poller decides through <see cref="ApplyResultAsync"/>. Redeliveries are harmless: only a pending check moves.
/// </summary>
public sealed partial class KycWebhookReceiver(
    NpgsqlDataSource db, KycProviders providers, KycChecks checks, TimeProvider time, ILogger<KycWebhookReceiver> logger)
{
    public async Task<Outcome<WebhookReceipt>> ReceiveAsync(string providerName, ReadOnlyMemory<byte> body, string? signature, CancellationToken cancellationToken)
    {
        var provider = providers.Find(providerName);
        if (provider is null)
        {
            return Problems.UnknownKycProvider();
        }
        if (!OnfidoWebhookSignature.IsValid(body.Span, signature, provider.WebhookToken))
        {
            LogBadSignature(logger, provider.Name);
            return Problems.InvalidWebhookSignature();
        }
        if (OnfidoWebhookEnvelope.TryParse(body.Span) is not { Payload: var payload })
        {
            return Problems.MalformedWebhook();
        }

        switch (payload)
        {
            case { ResourceType: "check", Action: "check.completed" }:
                return await CompleteAsync(provider, payload.Object.Id, payload.Object.Result, cancellationToken);
            case { ResourceType: "check", Action: "check.withdrawn" }:
                return await WithdrawAsync(provider.Name, payload.Object.Id, cancellationToken);
            default:
                return new WebhookReceipt("ignored");
        }
    }

    /// <summary>
    /// A completion for our pending check moves it by the result the provider tells. Only such a check is worth asking the
    /// provider about, or waiting on: one we decided already is acknowledged whatever the provider says of it now, or a
    /// "not ready" answer would have the webhook delivered again until the provider gives up.
    /// </summary>
    private async Task<Outcome<WebhookReceipt>> CompleteAsync(IKycProvider provider, string providerCheckId, string? sentResult, CancellationToken cancellationToken)
    {
        // No connection is held while the provider is asked; MoveAsync looks again under the row's lock.
        var check = await checks.FindByProviderIdAsync(provider.Name, providerCheckId, cancellationToken);
        if (check is null)
        {
            return CheckNotFound();
        }
        if (check.Status != KycCheckStatus.Pending)
        {
            return new WebhookReceipt("already-handled");
        }

        KycCheckResult? result;
        try
        {
            result = KycCheckResults.Parse(sentResult) ?? await provider.GetCheckResultAsync(providerCheckId, cancellationToken);
        }
        catch (HttpRequestException)
        {
            // Logged by the provider (OnfidoCredentialsRefused, OnfidoUnavailable, ...). Not 2xx: the provider delivers
            // the webhook again later.
            return Problems.KycProviderUnavailable();
        }
        return result is { } told
            ? await ApplyResultAsync(provider.Name, providerCheckId, told, cancellationToken)
            // Onfido's read lags its webhook (still in_progress), or the check was reopened or paused. Acknowledged, the
            // webhook would never come again and the check would stay pending for ever, blocking the player's next start.
            : ResultNotReady(provider.Name, providerCheckId);
    }

    /// <summary>
    /// Decides a check by the result its provider tells: the one way a told result moves a check, for a check.completed
    /// webhook and for <see cref="PendingKycCheckPoller"/>'s poll of a check whose webhook never came. Only a pending check
    /// moves ("applied"); one decided already, even at this moment by another replica, is "already-handled".
    /// </summary>
    public Task<Outcome<WebhookReceipt>> ApplyResultAsync(string provider, string providerCheckId, KycCheckResult result, CancellationToken cancellationToken) =>
        result switch
        {
            KycCheckResult.Clear => MoveAsync(provider, providerCheckId, KycCheckStatus.Approved, result, "identity check clear", cancellationToken),
            KycCheckResult.Consider => MoveAsync(provider, providerCheckId, KycCheckStatus.Review, result, "identity check needs a manual review", cancellationToken),
            // Final at the provider: closed as its check.withdrawn event closes it, or the check would wait for a result that never comes.
            KycCheckResult.Withdrawn => WithdrawAsync(provider, providerCheckId, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(result), result, "Not a result a provider tells."),
        };

    private Task<Outcome<WebhookReceipt>> WithdrawAsync(string provider, string providerCheckId, CancellationToken cancellationToken) =>
        MoveAsync(provider, providerCheckId, KycCheckStatus.Rejected, null, "identity check withdrawn by the provider", cancellationToken);

    // Not 2xx, so the provider retries: the check may be committing on our side right now.
    private static Outcome<WebhookReceipt> CheckNotFound() => Problems.KycCheckNotFound();

    private Outcome<WebhookReceipt> ResultNotReady(string provider, string providerCheckId)
    {
        LogResultNotReady(logger, provider, providerCheckId);
        return Problems.KycResultNotReady();
    }

    private async Task<Outcome<WebhookReceipt>> MoveAsync(
        string provider, string providerCheckId, string status, KycCheckResult? result, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var check = await KycChecks.LockByProviderIdAsync(transaction, provider, providerCheckId, cancellationToken);
        if (check is null)
        {
            return CheckNotFound();
        }
        if (check.Status != KycCheckStatus.Pending)
        {
            return new WebhookReceipt("already-handled");
        }

        await checks.MoveAsync(transaction, check, status, result?.Word(), decidedBy: null, note: null, reason, time.GetUtcNow(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogCheckMoved(logger, check.Id, check.UserId, status);
        return new WebhookReceipt("applied");
    }

    [LoggerMessage(EventId = 300, EventName = "KycWebhookBadSignature", Level = LogLevel.Warning, Message = "Rejected a {Provider} webhook with a bad signature")]
    private static partial void LogBadSignature(ILogger logger, string provider);

    [LoggerMessage(EventId = 301, EventName = "KycCheckMoved", Level = LogLevel.Information, Message = "KYC check {CheckId} of user {UserId} is now {Status}")]
    private static partial void LogCheckMoved(ILogger logger, Guid checkId, Guid userId, string status);

    [LoggerMessage(EventId = 302, EventName = "KycResultNotReady", Level = LogLevel.Warning,
        Message = "A {Provider} check.completed webhook for check {ProviderCheckId} came before the provider tells a clear or consider result; answered 503 so it is delivered again")]
    private static partial void LogResultNotReady(ILogger logger, string provider, string providerCheckId);
}
