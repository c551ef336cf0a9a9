using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// One problem-details style for every service: RFC 7807 bodies carrying the trace id, a
/// readable 400 for malformed requests, a 503 to retry while the database does not answer, and a generic 500 that
/// never leaks internals.
/// </summary>
public static partial class ProblemDetailsDefaults
{
    private const string StreamBetsTypes = "https://streambets.dev/problems/";
    private const string UnsupportedMediaTypeType = StreamBetsTypes + "unsupported-media-type";

    public static TBuilder AddDefaultProblemDetails<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            context.ProblemDetails.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
            // Routing's 415, the charset check below and a body reader's own all refuse the same mistake: one type to
            // switch on, the Gateway's, where the writer would give each only the RFC's generic one for the status.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType
                && context.ProblemDetails.Type?.StartsWith(StreamBetsTypes, StringComparison.Ordinal) != true)
            {
                context.ProblemDetails.Type = UnsupportedMediaTypeType;
            }
        });
        // After the framework's writer, which writes only for clients that accept JSON: this one writes for the rest.
        builder.Services.AddSingleton<IProblemDetailsWriter, ProblemJsonForAnyClient>();
        builder.Services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
        // Minimal APIs throw on a body or parameter they cannot read only in Development by default; elsewhere they
        // answered a bare "Bad Request". Throwing everywhere lets the handler below explain it in production too.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        // Minimal APIs validate DataAnnotations on parameters and answer with a ValidationProblem.
        builder.Services.AddValidation();
        return builder;
    }

    public static WebApplication UseDefaultProblemDetails(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(RefuseUnknownCharsetAsync);
        return app;
    }

    /// <summary>
    /// A JSON body declared in a charset .NET does not know (<c>charset=windows-1252</c>) made the framework's JSON reader
    /// throw an InvalidOperationException, which no endpoint catches: a 500 for the client's mistake. Refused up front.
    /// A quoted charset (<c>charset="utf-8"</c>, valid HTTP) is unquoted first, since the reader does not know it quoted.
    /// Public for a pipeline built by hand, such as the Bet Engine's relay of the Gateway's bets.
    /// </summary>
    public static Task RefuseUnknownCharsetAsync(HttpContext context, RequestDelegate next)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            || StringSegment.IsNullOrEmpty(type.Charset)
            || type.Encoding is not null
            || !(type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)))
        {
            return next(context);
        }

        if (HeaderUtilities.IsQuoted(type.Charset))
        {
            type.Charset = HeaderUtilities.RemoveQuotes(type.Charset);
            if (type.Encoding is not null)
            {
                context.Request.ContentType = type.ToString();
                return next(context);
            }
        }

        context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status415UnsupportedMediaType,
                Title = "The request could not be read.",
                Detail = $"The body's charset '{type.Charset}' is not supported: send JSON in UTF-8.",
            },
        }).AsTask();
    }

    /// <summary>
    /// Problem details as JSON whatever the client said it accepts. With only the framework's writer, a client sending
    /// <c>Accept: text/plain</c> made every refusal written through IProblemDetailsService (the gateway's 429, the 415
    /// above) throw, and come back as an empty 500 logged as an error: a cheap refusal anyone could turn into error logs
    /// and 5xx alerts at will. RFC 7807 bodies are JSON; a client that wanted something else still gets the status.
    /// </summary>
    private sealed class ProblemJsonForAnyClient(IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
    {
        private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

        public bool CanWrite(ProblemDetailsContext context) => true;

        public ValueTask WriteAsync(ProblemDetailsContext context)
        {
            var response = context.HttpContext.Response;
            context.ProblemDetails.Status ??= response.StatusCode;
            options.Value.CustomizeProblemDetails?.Invoke(context);
            // By its own type: a validation problem keeps its errors.
            return new ValueTask(response.WriteAsJsonAsync(context.ProblemDetails, context.ProblemDetails.GetType(), Json, "application/problem+json"));
        }
    }

    private sealed partial class ProblemDetailsExceptionHandler(IProblemDetailsService problemDetails, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            var (status, title, detail) = exception switch
            {
                // Malformed JSON, a wrong content type or an oversized body: the client's fault, and safe to explain.
                BadHttpRequestException bad => (bad.StatusCode, "The request could not be read.", Explain(bad, httpContext.Request)),
                OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "The client closed the request.", null),
                // The database restarting, failing over or out of connections (and the first broken pooled connection after
                // it): a retry is right, and money-moving requests carry idempotency keys, so one whose commit was cut off
                // is not repeated. It was a 500 "logged", read as a bug by clients and alerts.
                NpgsqlException { IsTransient: true } => (StatusCodes.Status503ServiceUnavailable, "A database this service needs did not answer.",
                    "Try again in a few seconds, with the same Idempotency-Key if the request had one."),
                _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred.", "The error was logged with the trace id below."),
            };

            if (status == StatusCodes.Status503ServiceUnavailable)
            {
                LogDatabaseUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, exception.Message);
                httpContext.Response.Headers.RetryAfter = "5";
            }
            else if (status >= 500)
            {
                LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
            }

            httpContext.Response.StatusCode = status;
            // An unreadable request breaks the same contract as an invalid one: clients switch on invalid-request and read
            // errors, as every endpoint's own validation answers (it had no type and no errors).
            var problem = exception is BadHttpRequestException && status == StatusCodes.Status400BadRequest
                ? new HttpValidationProblemDetails(new Dictionary<string, string[]> { [Culprit((BadHttpRequestException)exception)] = [detail!] })
                {
                    Type = InvalidRequestType,
                }
                : new ProblemDetails { Type = status == StatusCodes.Status503ServiceUnavailable ? DependencyUnavailableType : null };
            problem.Status = status;
            problem.Title = title;
            problem.Detail = detail;
            return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, Exception = exception, ProblemDetails = problem });
        }

        /// <summary>
        /// The field a client would fix: the JSON property where reading failed (cut to 64 characters: an unknown property's
        /// name is the client's choosing), else <c>body</c>; a route or query value by the parameter the framework names.
        /// </summary>
        private static string Culprit(BadHttpRequestException bad) => bad.InnerException switch
        {
            JsonException { Path: ['$', '.', .. var property] } when property.Length > 0 && property.IndexOfAny(['.', '[']) < 0 => Cut(property, 64),
            JsonException => "body",
            _ when bad.Message.Contains("body", StringComparison.OrdinalIgnoreCase) => "body",
            _ when BoundParameter().Match(bad.Message) is { Success: true } match => match.Groups[1].Value,
            _ => "request",
        };

        /// <summary>At most <paramref name="length"/> characters, never half of a surrogate pair (which JSON cannot carry).</summary>
        private static string Cut(string text, int length) =>
            text.Length <= length ? text : text[..(char.IsHighSurrogate(text[length - 1]) ? length - 1 : length)];

        // 'Failed to bind parameter "long limit" from "abc".', 'Required parameter "Guid id" was not provided from query string.'
        [GeneratedRegex(@"parameter ""(?:\S+ )?(\w+)""")]
        private static partial Regex BoundParameter();

        /// <summary>Where the body went wrong, in the client's terms rather than the endpoint's parameter types.</summary>
        private static string Explain(BadHttpRequestException bad, HttpRequest request) => bad.InnerException switch
        {
            JsonException json => $"The body is not valid JSON for this request at {json.Path ?? "$"}.",
            _ when request.ContentLength is null or 0 && request.Headers.TransferEncoding.Count == 0 && bad.Message.Contains("body", StringComparison.Ordinal)
                => "The request needs a JSON body.",
            // A body of JSON null: the framework's words for it name the endpoint's parameter and suggest a service.
            _ when bad.Message.Contains("no body was provided", StringComparison.Ordinal) || bad.Message.Contains("not provided from body", StringComparison.Ordinal)
                => "The request needs a JSON object body.",
            _ => bad.Message,
        };

        private const string DependencyUnavailableType = StreamBetsTypes + "dependency-unavailable";
        private const string InvalidRequestType = StreamBetsTypes + "invalid-request";

        [LoggerMessage(EventId = 1, EventName = "UnhandledException", Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
        private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);

        [LoggerMessage(EventId = 2, EventName = "DatabaseUnavailable", Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: the database did not answer ({Reason})")]
        private static partial void LogDatabaseUnavailable(ILogger logger, string method, string path, string reason);
    }
}
