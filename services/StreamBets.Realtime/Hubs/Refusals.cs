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

/// <summary>Sends a <see cref="RefusedException"/> to the caller as a HubException "code: message"; SignalR hides any other exception's text.</summary>
public sealed partial class RefusalsAsHubExceptions(ILogger<RefusalsAsHubExceptions> logger) : IHubFilter
{
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
    }

    [LoggerMessage(EventId = 20, EventName = "HubCallRefused", Level = LogLevel.Debug, Message = "{Method} refused ({Code}) for {Caller}")]
    private static partial void LogRefused(ILogger logger, string method, string code, string caller);
}
