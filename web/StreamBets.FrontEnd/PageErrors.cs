using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;

namespace StreamBets.FrontEnd;

/// <summary>
/// A browser's page request that throws shows the app's own status page (the player's in their language, the console's
/// to operators): ServiceDefaults' exception handler writes its problem document for any client, and a player or operator
/// saw raw JSON whenever Redis did not answer the cookie check or sign-in's saving of the tokens. Other requests (the
/// circuit, health probes) keep the problem document.
/// </summary>
public static partial class PageErrors
{
    private static readonly object FailedKey = new();

    /// <summary>
    /// The status page of a failed request is drawn signed out: the failure may have been the session check itself (Redis
    /// not answering), which would only throw again. The cookie stays, so the user is signed in again once Redis answers.
    /// </summary>
    public static IServiceCollection AddPageErrors(this IServiceCollection services) =>
        services.PostConfigure<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme, options =>
        {
            var validate = options.Events.OnValidatePrincipal;
            options.Events.OnValidatePrincipal = context =>
            {
                if (!context.HttpContext.Items.ContainsKey(FailedKey))
                {
                    return validate(context);
                }
                context.RejectPrincipal();
                return Task.CompletedTask;
            };
        });

    /// <summary>
    /// Goes inside <c>UseStatusCodePagesWithReExecute</c>: the failed request is left an empty 500, or 503 when Redis did
    /// not answer, which that middleware re-executes as the status page.
    /// </summary>
    public static IApplicationBuilder UsePageErrors(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (IsPage(context.Request) && !context.Response.HasStarted
            && context.Features.Get<IStatusCodeReExecuteFeature>() is null
            && !(exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PageErrors));
            var status = exception switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                RedisException or RedisTimeoutException => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            };
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                LogSessionStoreUnavailable(logger, context.Request.Method, context.Request.Path, exception.Message);
            }
            else if (status >= StatusCodes.Status500InternalServerError)
            {
                LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
            }
            context.Response.Clear();
            context.Response.StatusCode = status;
            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                context.Response.Headers.RetryAfter = "5";
            }
            context.Items[FailedKey] = true;
        }
    });

    /// <summary>What a browser sends for a page: a navigation or a form post, which asks for HTML.</summary>
    private static bool IsPage(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(type => type.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase));

    [LoggerMessage(EventId = 1, EventName = "UnhandledPageException", Level = LogLevel.Error, Message = "Unhandled exception for page {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 2, EventName = "SessionStoreUnavailable", Level = LogLevel.Warning, Message = "Page {Method} {Path} answered 503: Redis did not answer ({Reason})")]
    private static partial void LogSessionStoreUnavailable(ILogger logger, string method, string path, string reason);
}
