using Microsoft.AspNetCore.SignalR;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// A request the hub turns down for a reason the caller can act on. <paramref name="Code"/> is stable (clients switch on
/// it, like a problem type); the message is for people.
/// </summary>
public sealed class RefusedException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>
/// Sends a <see cref="RefusedException"/> to the caller as a HubException "code: message" (SignalR hides any other
/// exception's text) and logs it at Debug: a refusal is the hub working, not failing. Anything else is logged here as
/// an error, once, because SignalR's own dispatcher log is switched off (it logs every HubException as an error with its
/// stack trace, which a busy chat's rate limit alone would turn into a flood).
/// </summary>
public sealed partial class RefusalsAsHubExceptions(ILogger<RefusalsAsHubExceptions> logger) : IHubFilter
{
    /// <summary>The log category AddApplicationServices silences.</summary>
    public const string DispatcherLogCategory = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (RefusedException refused)
        {
            LogRefused(logger, invocationContext.HubMethodName, refused.Code, invocationContext.Context.UserIdentifier ?? "anonymous");
            throw new HubException($"{refused.Code}: {refused.Message}");
        }
        catch (Exception e) when (e is not HubException and not OperationCanceledException)
        {
            LogFailed(logger, e, invocationContext.HubMethodName, invocationContext.Context.UserIdentifier ?? "anonymous");
            throw;
        }
    }

    [LoggerMessage(EventId = 20, EventName = "HubCallRefused", Level = LogLevel.Debug, Message = "{Method} refused ({Code}) for {Caller}")]
    private static partial void LogRefused(ILogger logger, string method, string code, string caller);

    [LoggerMessage(EventId = 21, EventName = "HubCallFailed", Level = LogLevel.Error, Message = "{Method} failed for {Caller}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, string caller);
}
