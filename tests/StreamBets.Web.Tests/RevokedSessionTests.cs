using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Testing;
using StreamBets.Web.Gateway;

namespace StreamBets.Web.Tests;

/// <summary>
/// A session Users revoked (a reused refresh token, the session time limit) while its access token still had minutes
/// to live: the gateway's first 401 makes the app refresh at once, so the player is signed out now, not at the next
/// scheduled refresh. Real Redis holds the tokens, as in the app; the gateway is a recorded fake.
/// </summary>
public sealed class RevokedSessionTests : IAsyncLifetime
{
    private readonly string _sessionId = Guid.NewGuid().ToString();
    private readonly Guid _userId = Guid.NewGuid();
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task A_401_for_a_revoked_session_signs_the_player_out_at_once()
    {
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.Unauthorized);
        var (client, tokens, ended) = await SignedInAsync(gateway);

        var wallet = await client.WalletAsync();

        Assert.Equal(ApiProblem.SignedOut, wallet.Problem?.Code);
        Assert.Equal(["GET /api/users/me/wallet Bearer access-1", "POST /api/users/token/refresh refresh-access-1"], gateway.Requests);
        Assert.Equal(1, ended());
        Assert.Null(await tokens.GetAsync(_sessionId));
    }

    [Fact]
    public async Task A_401_for_a_session_still_valid_refreshes_its_token_once_and_the_refused_calls_succeed_with_it()
    {
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.OK);
        var (client, tokens, ended) = await SignedInAsync(gateway);

        // Two calls refused with the same token at once: one refresh between them, then each is sent again.
        var wallets = await Task.WhenAll(client.WalletAsync(), client.WalletAsync());

        Assert.All(wallets, wallet => Assert.Equal(42_00, wallet.Value?.BalanceMinor));
        Assert.Equal(1, gateway.Requests.Count(r => r.StartsWith("POST /api/users/token/refresh", StringComparison.Ordinal)));
        var fresh = (await tokens.GetAsync(_sessionId))!.AccessToken;
        Assert.Equal("refreshed", JwtName(fresh));
        Assert.Equal(2, gateway.Requests.Count(r => r == $"GET /api/users/me/wallet Bearer {fresh}"));
        Assert.Equal(0, ended());
    }

    [Fact]
    public async Task A_call_whose_token_expired_while_users_cannot_refresh_it_is_unavailable_and_carries_no_token()
    {
        // Users (or the gateway's budget for this front end) answers the refreshes 503: the session is not known to be over.
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.ServiceUnavailable);
        var (client, tokens, ended) = await SignedInAsync(gateway);
        await tokens.SaveAsync(_sessionId, Stored("access-1", TimeSpan.FromMinutes(-5)));

        var wallet = await client.WalletAsync();

        // Not "signed out" (the gateway's 401 to the expired token), and nothing sent that could be half-made.
        Assert.Equal(ApiProblem.Unavailable, wallet.Problem?.Code);
        Assert.False(wallet.Problem!.OutcomeUnknown);
        Assert.Equal(["POST /api/users/token/refresh refresh-access-1", "POST /api/users/token/refresh refresh-access-1"], gateway.Requests);
        Assert.Equal(0, ended());
        Assert.NotNull(await tokens.GetAsync(_sessionId));
    }

    [Fact]
    public async Task A_refresh_whose_answer_was_lost_is_sent_again_at_once_and_keeps_the_session()
    {
        // Users rotated the token, but the answer never came back: Users takes the same token again for 30 s.
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.OK, loseFirstRefreshAnswer: true);
        var (client, tokens, ended) = await SignedInAsync(gateway);

        var wallet = await client.WalletAsync();

        Assert.Equal(42_00, wallet.Value?.BalanceMinor);
        Assert.Equal(["POST /api/users/token/refresh refresh-access-1", "POST /api/users/token/refresh refresh-access-1"],
            gateway.Requests.Where(r => r.StartsWith("POST", StringComparison.Ordinal)));
        Assert.Equal("refreshed", JwtName((await tokens.GetAsync(_sessionId))!.AccessToken));
        Assert.Equal(0, ended());
    }

    [Fact]
    public async Task A_refresh_whose_caller_leaves_while_users_answers_still_saves_the_new_tokens()
    {
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.OK);
        var answer = new TaskCompletionSource();
        gateway.RefreshAnswerHeld = answer.Task;
        var (client, tokens, ended) = await SignedInAsync(gateway);
        using var leaving = new CancellationTokenSource();

        // The page's call is refused, its refresh reaches Users (which rotates the token), and the page is left.
        var call = client.WalletAsync(leaving.Token);
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(gateway.Requests.Any(r => r.StartsWith("POST /api/users/token/refresh", StringComparison.Ordinal))), TimeSpan.FromSeconds(15)));
        await leaving.CancelAsync();
        answer.SetResult();
        try
        {
            await call;
        }
        catch (OperationCanceledException)
        {
            // the page is gone; its call may end either way
        }

        // The rotated token is kept: presented again much later, the old one would have ended the session.
        Assert.True(await Eventually.HoldsAsync(async () => (await tokens.GetAsync(_sessionId))?.RefreshToken == "refresh-refreshed", TimeSpan.FromSeconds(15)));
        Assert.Equal(0, ended());
    }

    [Fact]
    public async Task A_call_refused_again_with_the_fresh_token_is_not_sent_a_third_time()
    {
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.OK, refuseEveryToken: true);
        var (client, tokens, ended) = await SignedInAsync(gateway);

        var wallet = await client.WalletAsync();

        Assert.Equal(ApiProblem.SignedOut, wallet.Problem?.Code);
        var fresh = (await tokens.GetAsync(_sessionId))!.AccessToken;
        Assert.Equal(["GET /api/users/me/wallet Bearer access-1", "POST /api/users/token/refresh refresh-access-1", $"GET /api/users/me/wallet Bearer {fresh}"], gateway.Requests);
        Assert.Equal(0, ended());
    }

    [Fact]
    public async Task Signing_out_after_a_long_idle_ends_the_users_session_with_a_fresh_token()
    {
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.OK);
        var (client, tokens, _) = await SignedInAsync(gateway);
        await tokens.SaveAsync(_sessionId, Stored("access-1", TimeSpan.FromMinutes(-5))); // expired while the player was away
        var services = new ServiceCollection().AddLogging().AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie().Services.BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services, User = SessionClaims.Principal(_sessionId, Stored("access-1", TimeSpan.Zero)) };

        await SessionSignIn.SignOutAsync(context, tokens, client);

        var fresh = gateway.Requests.Single(r => r.StartsWith("POST /api/users/logout", StringComparison.Ordinal));
        Assert.NotEqual("POST /api/users/logout Bearer access-1", fresh);
        Assert.Null(await tokens.GetAsync(_sessionId));
    }

    [Fact]
    public async Task In_a_sessions_last_minute_calls_do_not_refresh_a_token_that_already_ends_with_the_session()
    {
        // Users caps both tokens at the session's end: the last refresh gave an access token living exactly as long.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var sessionEnds = clock.GetUtcNow().AddSeconds(30);
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.OK, sessionEndsAt: sessionEnds);
        var tokens = new SessionTokens(new FrontEndApp("web-tests", "streambets", "tests"), _redis, new EphemeralDataProtectionProvider(), new Clients(gateway), clock, NullLogger<SessionTokens>.Instance);
        await tokens.SaveAsync(_sessionId, new StoredTokens("access-last", sessionEnds, "refresh-last", sessionEnds, _userId, "Ana", "player"));

        for (var call = 0; call < 3; call++)
        {
            Assert.NotNull(await tokens.GetFreshAsync(_sessionId, default));
            clock.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.InRange(gateway.Requests.Count(r => r.StartsWith("POST /api/users/token/refresh", StringComparison.Ordinal)), 0, 1);
    }

    [Fact]
    public async Task Once_a_token_that_ended_with_its_session_expired_the_next_call_asks_users_and_ends_the_session()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var sessionEnds = clock.GetUtcNow().AddSeconds(30);
        var gateway = new FakeGateway(refreshAnswers: HttpStatusCode.Unauthorized);
        var tokens = new SessionTokens(new FrontEndApp("web-tests", "streambets", "tests"), _redis, new EphemeralDataProtectionProvider(), new Clients(gateway), clock, NullLogger<SessionTokens>.Instance);
        await tokens.SaveAsync(_sessionId, new StoredTokens("access-last", sessionEnds, "refresh-last", sessionEnds, _userId, "Ana", "player"));

        clock.Advance(TimeSpan.FromSeconds(31));

        Assert.Null(await tokens.GetFreshAsync(_sessionId, default));
        Assert.Equal(["POST /api/users/token/refresh refresh-last"], gateway.Requests);
    }

    /// <summary>The app's client for a player signed in with access token "access-1" (10 minutes left), and how often their session ended.</summary>
    private async Task<(GatewayClient Client, SessionTokens Tokens, Func<int> Ended)> SignedInAsync(FakeGateway gateway)
    {
        var http = new Clients(gateway);
        var tokens = new SessionTokens(new FrontEndApp("web-tests", "streambets", "tests"), _redis, new EphemeralDataProtectionProvider(), http, TimeProvider.System, NullLogger<SessionTokens>.Instance);
        var principal = SessionClaims.Principal(_sessionId, Stored("unused", TimeSpan.FromMinutes(10)));
        var session = new UserSession(new SignedIn(principal), tokens);
        var ended = 0;
        session.Ended += () => ended++;
        await tokens.SaveAsync(_sessionId, Stored("access-1", TimeSpan.FromMinutes(10)));
        return (new GatewayClient(http, session, NullLogger<GatewayClient>.Instance), tokens, () => ended);
    }

    private StoredTokens Stored(string accessToken, TimeSpan lifetime) =>
        new(accessToken, DateTimeOffset.UtcNow + lifetime, $"refresh-{accessToken}", DateTimeOffset.UtcNow.AddDays(1), _userId, "Ana", "player");

    private static string JwtName(string token) => new JsonWebToken(token).GetPayloadValue<string>("name");

    private sealed class SignedIn(ClaimsPrincipal user) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(user));
    }

    private sealed class Clients(HttpMessageHandler gateway) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(gateway, disposeHandler: false) { BaseAddress = new Uri("http://gateway") };
    }

    /// <summary>
    /// Refuses API calls with the first token ("access-1"), or with any when told, with 401; answers refreshes as told
    /// (a fresh JWT named "refreshed" on 200, its tokens capped at <paramref name="sessionEndsAt"/> as Users caps them; the
    /// first one's answer lost when told) and a wallet of R$ 42,00 to a token it accepts.
    /// </summary>
    private sealed class FakeGateway(
        HttpStatusCode refreshAnswers, bool refuseEveryToken = false, bool loseFirstRefreshAnswer = false, DateTimeOffset? sessionEndsAt = null) : HttpMessageHandler
    {
        /// <summary>When set, a refresh (applied by Users) waits for it before answering, as a slow answer does.</summary>
        public Task? RefreshAnswerHeld { get; set; }

        private readonly List<string> _requests = [];
        private int _refreshes;

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path == "/api/users/token/refresh")
            {
                var body = await request.Content!.ReadFromJsonAsync<Dictionary<string, string>>(cancellationToken);
                Record($"POST {path} {body!["refreshToken"]}");
                if (loseFirstRefreshAnswer && Interlocked.Increment(ref _refreshes) == 1)
                {
                    throw new HttpRequestException("The connection was reset."); // applied, its answer lost
                }
                if (RefreshAnswerHeld is { } held)
                {
                    await held.WaitAsync(cancellationToken); // a caller that stops waiting cancels the request here
                }
                return refreshAnswers == HttpStatusCode.OK
                    ? new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(Refreshed()) }
                    : Problem(refreshAnswers, "refresh-token-reused");
            }

            Record($"{request.Method} {path} {request.Headers.Authorization}");
            // As the gateway's JWT check answers a revoked session: 401 and no body.
            return refuseEveryToken || request.Headers.Authorization?.Parameter == "access-1"
                ? new HttpResponseMessage(HttpStatusCode.Unauthorized)
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new { userId = Guid.Empty, balanceMinor = 42_00 }) };
        }

        private void Record(string line)
        {
            lock (_requests)
            {
                _requests.Add(line);
            }
        }

        private static DateTimeOffset Min(DateTimeOffset expiresAt, DateTimeOffset? cap) => cap < expiresAt ? cap.Value : expiresAt;

        private static HttpResponseMessage Problem(HttpStatusCode status, string code) => new(status)
        {
            Content = new StringContent($$"""{"type":"https://streambets.dev/problems/{{code}}","status":{{(int)status}}}""", System.Text.Encoding.UTF8, "application/problem+json"),
        };

        private object Refreshed()
        {
            var expiresAt = Min(DateTimeOffset.UtcNow.AddMinutes(15), sessionEndsAt);
            var accessToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Claims = new Dictionary<string, object> { ["name"] = "refreshed" },
                Expires = expiresAt.UtcDateTime,
            });
            return new
            {
                accessToken,
                tokenType = "Bearer",
                expiresIn = (int)(expiresAt - DateTimeOffset.UtcNow).TotalSeconds,
                expiresAt,
                refreshToken = "refresh-refreshed",
                refreshTokenExpiresAt = Min(DateTimeOffset.UtcNow.AddDays(1), sessionEndsAt),
                userId = Guid.NewGuid(),
                role = "player",
            };
        }
    }
}
