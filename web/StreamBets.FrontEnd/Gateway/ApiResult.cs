using System.Net;
using System.Text.Json;

namespace StreamBets.FrontEnd.Gateway;

/// <summary>
/// A refusal from the gateway as the front ends show it: the stable <see cref="Code"/> (the last segment of the RFC 7807
/// <c>type</c>, e.g. "insufficient-funds") picks the message; <see cref="Errors"/> are a ValidationProblem's field errors.
/// </summary>
public sealed record ApiProblem(int Status, string Code, string? Title, string? Detail, IReadOnlyDictionary<string, string[]> Errors, IReadOnlyDictionary<string, JsonElement> Extensions)
{
    public const string TypePrefix = "https://streambets.dev/problems/";

    /// <summary>
    /// No usable answer: none at all (network, timeout, Redis), or a 5xx naming no problem of ours. The same code the
    /// services use for "retry with the same key": it does not say that nothing was done (see <see cref="OutcomeUnknown"/>).
    /// </summary>
    public const string Unavailable = "dependency-unavailable";

    /// <summary>The user's session ended (signed out elsewhere, refresh token refused).</summary>
    public const string SignedOut = "signed-out";

    /// <summary>The gateway's 429: over the client's budget, answered before any service.</summary>
    public const string RateLimited = "rate-limited";

    /// <summary>
    /// A change was sent and no answer says whether it was made: none came back, or a service failed with a 5xx that
    /// names no refusal of its own (it may have committed first, e.g. a pool cancelled and then not read back), or with
    /// <see cref="Unavailable"/> (a database that failed, perhaps during its COMMIT). Only a reload tells; the code stays
    /// as answered, so a retry keeps its idempotency key.
    /// </summary>
    public bool OutcomeUnknown { get; init; }

    /// <summary>The service's trace id (every problem from ServiceDefaults has one): what an escalation quotes.</summary>
    public string? TraceId => Extensions.TryGetValue("traceId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;

    public static ApiProblem Of(int status, string code, string? detail = null) =>
        new(status, code, null, detail, new Dictionary<string, string[]>(), new Dictionary<string, JsonElement>());

    /// <param name="change">The refused request was a change (not a read).</param>
    public static async Task<ApiProblem> ReadAsync(HttpResponseMessage response, bool change, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        // A failed change may have been made before it failed, unless the service named a refusal of its own.
        var unknownUnlessRefused = change && status >= StatusCodes.Status500InternalServerError;
        var fallbackCode = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => SignedOut,
            HttpStatusCode.Forbidden => "forbidden",
            HttpStatusCode.NotFound => "not-found",
            HttpStatusCode.TooManyRequests => RateLimited,
            >= HttpStatusCode.InternalServerError => Unavailable,
            _ => "invalid-request",
        };
        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Of(status, fallbackCode) with { OutcomeUnknown = unknownUnlessRefused };
            }

            var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var named = type is not null && type.StartsWith(TypePrefix, StringComparison.Ordinal);
            var code = named ? type![TypePrefix.Length..] : fallbackCode;
            // dependency-unavailable refuses nothing: every service answers it for a database that failed, also during a
            // COMMIT the server may have made. A named 5xx such as admin-save-busy is answered before anything is written.
            var refused = named && code != Unavailable;
            var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            var extensions = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "errors" && property.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in property.Value.EnumerateObject())
                    {
                        errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? [.. field.Value.EnumerateArray().Select(e => e.GetString() ?? "")]
                            : [field.Value.ToString()];
                    }
                }
                else if (property.Name is not ("type" or "title" or "detail" or "status" or "instance"))
                {
                    extensions[property.Name] = property.Value.Clone();
                }
            }
            return new ApiProblem(status, code, String(root, "title"), String(root, "detail"), errors, extensions) { OutcomeUnknown = unknownUnlessRefused && !refused };
        }
        catch (JsonException)
        {
            return Of(status, fallbackCode) with { OutcomeUnknown = unknownUnlessRefused };
        }
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>What a gateway call gave: a value, or the problem that refused it.</summary>
public sealed class ApiResult<T>
{
    private ApiResult(T? value, ApiProblem? problem, HttpStatusCode status)
    {
        Value = value;
        Problem = problem;
        Status = status;
    }

    public T? Value { get; }
    public ApiProblem? Problem { get; }
    public HttpStatusCode Status { get; }
    public bool Succeeded => Problem is null;

    public static ApiResult<T> Success(T value, HttpStatusCode status = HttpStatusCode.OK) => new(value, null, status);
    public static ApiResult<T> Failure(ApiProblem problem) => new(default, problem, (HttpStatusCode)problem.Status);
}
