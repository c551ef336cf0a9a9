using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Testing;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// The gateway as a test scripts it: each GET path answers what it was last told (404 otherwise), and an answer can be
/// held back until the test releases it, as a slow service's. <see cref="SignedInAsync"/> gives the app's own
/// <see cref="GatewayClient"/> for a signed-in player whose tokens are in the test Redis.
/// </summary>
public sealed class ScriptedGateway : HttpMessageHandler
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ConcurrentDictionary<string, object> _answers = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _heldNext = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<Uri> _requestUris = new();
    private readonly ConcurrentQueue<string> _sent = new();
    private readonly ConcurrentDictionary<string, JsonElement> _bodies = new();
    private readonly ConcurrentQueue<(string Path, string? Key)> _keys = new();

    /// <summary>The paths asked for, in order.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>The query values of each call to the path, in order (decoded: "scope" → "channel:twitch:streamer1").</summary>
    public IReadOnlyList<System.Collections.Specialized.NameValueCollection> Queries(string path) =>
        [.. _requestUris.Where(u => u.AbsolutePath == path).Select(u => System.Web.HttpUtility.ParseQueryString(u.Query))];

    /// <summary>The changes sent (POST, PUT, ...), as "POST /api/bets", in order.</summary>
    public IReadOnlyList<string> Changes => [.. _sent];

    /// <summary>The body of the last change sent to the path.</summary>
    public JsonElement? LastBody(string path) => _bodies.TryGetValue(path, out var body) ? body : null;

    /// <summary>The Idempotency-Key of each change sent to the path, in order (null when it had none).</summary>
    public IReadOnlyList<string?> IdempotencyKeys(string path) => [.. _keys.Where(k => k.Path == path).Select(k => k.Key)];

    public void Answer(string path, object body) => _answers[path] = body;

    /// <summary>The path answers this to a read of the page after <paramref name="cursor"/> (its <c>cursor</c> query value).</summary>
    public void AnswerPage(string path, string cursor, object body) => _answers[PageKey(path, cursor)] = body;

    private static string PageKey(string path, string cursor) => $"{path}?cursor={cursor}";

    /// <summary>The path answers this refusal, a problem document as the services write them, until told otherwise;
    /// <paramref name="errors"/> are a ValidationProblem's, by field.</summary>
    public void Refuse(string path, int status, string code, IReadOnlyDictionary<string, string[]>? errors = null) =>
        _answers[path] = new Refusal(status, code, errors);

    /// <summary>The next calls to the path wait until the returned release; they answer what is scripted then.</summary>
    public Action Hold(string path)
    {
        var held = _held[path] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return () =>
        {
            _held.TryRemove(path, out _);
            held.SetResult();
        };
    }

    /// <summary>
    /// The next call to the path (only that one) waits until the returned release, then answers what was scripted when it
    /// was sent: a read that was on its way while things changed.
    /// </summary>
    public Action HoldNext(string path)
    {
        var held = _heldNext[path] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return held.SetResult;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        // Taken before the call is counted: a test that saw it counted may hold the next one, and this one is not it.
        var heldNext = _heldNext.TryRemove(path, out var next) ? next : null;
        var answerAsSent = _answers.GetValueOrDefault(path);
        _requests.Enqueue(path);
        _requestUris.Enqueue(request.RequestUri);
        if (request.Method != HttpMethod.Get)
        {
            _sent.Enqueue($"{request.Method} {path}");
            _keys.Enqueue((path, request.Headers.TryGetValues("Idempotency-Key", out var keys) ? keys.First() : null));
            if (request.Content is not null)
            {
                _bodies[path] = JsonSerializer.Deserialize<JsonElement>(await request.Content.ReadAsStringAsync(cancellationToken));
            }
        }
        if (heldNext is not null)
        {
            await heldNext.Task.WaitAsync(cancellationToken);
            return Respond(answerAsSent);
        }
        if (_held.TryGetValue(path, out var held))
        {
            await held.Task.WaitAsync(cancellationToken);
        }
        var cursor = System.Web.HttpUtility.ParseQueryString(request.RequestUri.Query)["cursor"];
        return Respond(cursor is not null && _answers.TryGetValue(PageKey(path, cursor), out var page) ? page : _answers.GetValueOrDefault(path));
    }

    private static HttpResponseMessage Respond(object? body) =>
        body switch
        {
            null => new HttpResponseMessage(HttpStatusCode.NotFound),
            Refusal refusal => new HttpResponseMessage((HttpStatusCode)refusal.Status)
            {
                Content = new StringContent(
                    JsonSerializer.Serialize(refusal.Errors is null
                        ? new { type = ApiProblem.TypePrefix + refusal.Code, status = refusal.Status }
                        : (object)new { type = ApiProblem.TypePrefix + refusal.Code, status = refusal.Status, errors = refusal.Errors }), System.Text.Encoding.UTF8, "application/problem+json"),
            },
            _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(body, body.GetType(), options: Json) },
        };

    private sealed record Refusal(int Status, string Code, IReadOnlyDictionary<string, string[]>? Errors);

    /// <summary>The app's gateway client for a signed-in player, calling this gateway; dispose the Redis connection after.</summary>
    public async Task<(GatewayClient Client, UserSession Session, IConnectionMultiplexer Redis)> SignedInAsync()
    {
        var redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        var (session, _, _) = await SessionAsync(redis, DateTimeOffset.UtcNow.AddMinutes(10));
        return (new GatewayClient(new Clients(this), session, NullLogger<GatewayClient>.Instance), session, redis);
    }

    /// <summary>
    /// A signed-in player's session whose access token ("access-1") expires at <paramref name="accessExpiresAt"/>, its tokens
    /// in <paramref name="redis"/> and refreshed through this gateway (script "/api/users/token/refresh" to answer them).
    /// </summary>
    public async Task<(UserSession Session, SessionTokens Tokens, string SessionId)> SessionAsync(IConnectionMultiplexer redis, DateTimeOffset accessExpiresAt)
    {
        var tokens = new SessionTokens(new FrontEndApp("web-tests", "streambets", "tests"), redis, new EphemeralDataProtectionProvider(), new Clients(this), TimeProvider.System, NullLogger<SessionTokens>.Instance);
        var sessionId = Guid.NewGuid().ToString();
        var stored = new StoredTokens("access-1", accessExpiresAt, "refresh-1", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "Ana", "player");
        await tokens.SaveAsync(sessionId, stored);
        return (new UserSession(new SignedIn(SessionClaims.Principal(sessionId, stored)), tokens), tokens, sessionId);
    }

    private sealed class SignedIn(ClaimsPrincipal user) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(user));
    }

    private sealed class Clients(HttpMessageHandler gateway) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(gateway, disposeHandler: false) { BaseAddress = new Uri("http://gateway") };
    }
}
