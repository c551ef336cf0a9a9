using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Polly;
using Polly.CircuitBreaker;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;

namespace StreamBets.FrontEnd.Gateway;

public sealed record TokenResponse(
    string AccessToken, string TokenType, int ExpiresIn, DateTimeOffset ExpiresAt, string RefreshToken, DateTimeOffset RefreshTokenExpiresAt, Guid UserId, string Role);

/// <summary>
/// How a front end calls the gateway's REST APIs (found by service discovery as https+http://gateway): with the signed-in
/// user's access token, and refusals as <see cref="ApiProblem"/>s, never exceptions. Each app adds the calls it makes.
/// </summary>
public abstract partial class GatewayClientBase(IHttpClientFactory http, UserSession session, ILogger logger)
{
    public const string HttpClientName = "gateway";
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<ApiResult<TokenResponse>> LoginAsync(string email, string password, CancellationToken ct = default) =>
        SendAsync<TokenResponse>(HttpMethod.Post, "/api/users/login", new { email, password }, anonymous: true, cancellationToken: ct);

    /// <summary>Ends the session in the Users service with the given token (the cookie's session may already be gone here).</summary>
    public Task<ApiResult<bool>> LogoutAsync(string accessToken, CancellationToken ct = default) =>
        SendAsync<bool>(HttpMethod.Post, "/api/users/logout", null, token: accessToken, cancellationToken: ct);

    protected Task<ApiResult<T>> GetAsync<T>(string path, CancellationToken cancellationToken) =>
        SendAsync<T>(HttpMethod.Get, path, null, cancellationToken: cancellationToken);

    protected static string Query(string name, string? value, bool first = false) =>
        value is null ? "" : $"{(first ? '?' : '&')}{name}={Uri.EscapeDataString(value)}";

    protected async Task<ApiResult<T>> SendAsync<T>(
        HttpMethod method, string path, object? body, string? idempotencyKey = null, bool anonymous = false, string? token = null,
        CancellationToken cancellationToken = default)
    {
        var sending = false; // a request is on its way: a change in it may be made whatever becomes of the answer
        try
        {
            string? sessionToken = null;
            if (!anonymous && token is null)
            {
                sessionToken = await session.AccessTokenAsync(cancellationToken);
                if (sessionToken is null)
                {
                    return ApiResult<T>.Failure(ApiProblem.Of(StatusCodes.Status401Unauthorized, ApiProblem.SignedOut));
                }
            }

            sending = true;
            var result = await SendOnceAsync<T>(method, path, body, idempotencyKey, token ?? sessionToken, cancellationToken);
            sending = false;
            if (sessionToken is not null && result.Status == HttpStatusCode.Unauthorized
                && await session.TokenRefusedAsync(sessionToken, cancellationToken) is { } fresh && fresh != sessionToken)
            {
                // The session lives on with a fresh token. A 401 means no service acted on the call (the token is
                // checked first), so sending it once more is safe, and the user never sees a "signed out" that was not.
                sending = true;
                result = await SendOnceAsync<T>(method, path, body, idempotencyKey, fresh, cancellationToken);
            }
            return result;
        }
        catch (Exception e) when (IsNoAnswer(e) && !cancellationToken.IsCancellationRequested)
        {
            LogUnavailable(logger, method.Method, PathForLogs(path), e);
            // A change handed to the HTTP client may have reached the service however its answer was lost; one that
            // never left (the session's tokens unreadable, the circuit breaker open) was not made.
            var outcomeUnknown = sending && IsChange(method) && e is not BrokenCircuitException;
            return ApiResult<T>.Failure(ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, ApiProblem.Unavailable) with { OutcomeUnknown = outcomeUnknown });
        }
    }

    /// <summary>
    /// The gateway gave no usable answer: a network failure, a timeout, an unreadable body, or the resilience pipeline
    /// refusing to send (its total timeout, an open circuit breaker: Polly's <see cref="ExecutionRejectedException"/>s);
    /// the session's token expired with no refresh to be had (a <see cref="SessionTokenUnavailableException"/>, nothing sent);
    /// or the session's tokens could not be read from Redis (a <see cref="RedisTimeoutException"/> is no
    /// <see cref="RedisException"/>). Thrown on, any of these would tear down the user's circuit and the idempotency
    /// key of the bet being placed.
    /// </summary>
    internal static bool IsNoAnswer(Exception e) =>
        e is HttpRequestException or OperationCanceledException or JsonException or ExecutionRejectedException or RedisException or RedisTimeoutException;

    private static bool IsChange(HttpMethod method) => method != HttpMethod.Get;

    private async Task<ApiResult<T>> SendOnceAsync<T>(
        HttpMethod method, string path, object? body, string? idempotencyKey, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (idempotencyKey is not null)
        {
            request.Headers.Add(IdempotencyKeyHeader, idempotencyKey);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        using var client = http.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await ApiProblem.ReadAsync(response, IsChange(method), cancellationToken);
            LogRefused(logger, method.Method, PathForLogs(path), problem.Status, problem.Code);
            return ApiResult<T>.Failure(problem);
        }
        if (typeof(T) == typeof(bool))
        {
            return ApiResult<T>.Success((T)(object)true, response.StatusCode);
        }
        var value = await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken);
        return ApiResult<T>.Success(value!, response.StatusCode);
    }

    /// <summary>
    /// <paramref name="path"/> with each query value replaced by <c>*</c>, its name kept: a value may be personal (the
    /// console finds an account by email), and these records bypass the HTTP client's own query redaction. The names
    /// still tell the on-call which lookup or page failed (<c>?email=*</c>, <c>?limit=*&amp;cursor=*</c>).
    /// </summary>
    private static string PathForLogs(string path)
    {
        var queryStart = path.IndexOf('?', StringComparison.Ordinal);
        if (queryStart < 0)
        {
            return path;
        }
        var names = path[(queryStart + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries).Select(pair => pair.Split('=', 2)[0] + "=*");
        return $"{path[..queryStart]}?{string.Join('&', names)}";
    }

    [LoggerMessage(EventId = 1, EventName = "GatewayRefused", Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} {Code}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string code);

    [LoggerMessage(EventId = 2, EventName = "GatewayUnavailable", Level = LogLevel.Warning, Message = "{Method} {Path} got no answer")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, Exception exception);
}
