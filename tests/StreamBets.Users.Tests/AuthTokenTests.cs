using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using StackExchange.Redis;
using StreamBets.Testing;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Tests;

public sealed class AuthTokenTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    [Fact]
    public async Task Login_issues_a_15_minute_access_token_with_the_claims_every_service_trusts()
    {
        var player = await app.NewPlayerAsync();

        var token = new JsonWebToken(player.Tokens.AccessToken);

        Assert.Equal(("streambets-users", "streambets"), (token.Issuer, token.Audiences.Single()));
        Assert.Equal(player.Id.ToString(), token.Subject);
        Assert.Equal("player", token.GetClaim("role").Value);
        Assert.Equal("Test Player", token.GetClaim("name").Value);
        Assert.True(Guid.TryParse(token.GetClaim("sid").Value, out _));
        Assert.False(string.IsNullOrEmpty(token.Id));
        Assert.Equal(TimeSpan.FromMinutes(15), token.ValidTo - token.IssuedAt);
        Assert.Equal("RS256", token.Alg);
        Assert.Equal(900, player.Tokens.ExpiresIn);
        Assert.Equal(HttpStatusCode.OK, (await player.Client.GetAsync("/api/users/me")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_password_and_an_unknown_email_get_the_same_answer()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        var wrongPassword = await client.PostAsJsonAsync("/api/users/login", new { email = player.Email, password = "not-the-password" });
        var unknownEmail = await client.PostAsJsonAsync("/api/users/login", new { email = AccountsTestApp.NewEmail("nobody"), password = "not-the-password" });

        var (first, second) = (await wrongPassword.Content.ReadFromJsonAsync<ProblemDetails>(), await unknownEmail.Content.ReadFromJsonAsync<ProblemDetails>());
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (wrongPassword.StatusCode, unknownEmail.StatusCode));
        Assert.Equal("https://streambets.dev/problems/invalid-credentials", first!.Type);
        Assert.Equal((first.Type, first.Title, first.Detail), (second!.Type, second.Title, second.Detail));
    }

    [Fact]
    public async Task Login_works_whatever_the_letter_case_of_the_email()
    {
        var player = await app.NewPlayerAsync();

        var tokens = await app.LoginAsync(player.Email.ToUpperInvariant(), player.Password);

        Assert.Equal(player.Id, tokens.UserId);
    }

    [Fact]
    public async Task Refresh_rotates_the_refresh_token_within_the_same_session()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();

        var refreshed = await RefreshAsync(client, player.Tokens.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var tokens = (await refreshed.Content.ReadFromJsonAsync<TokenResponse>())!;
        Assert.NotEqual(player.Tokens.RefreshToken, tokens.RefreshToken);
        Assert.Equal(Sid(player.Tokens.AccessToken), Sid(tokens.AccessToken));
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(client, tokens.RefreshToken)).StatusCode);
    }

    [Fact]
    public async Task A_refresh_sent_again_because_its_answer_was_lost_gets_new_tokens_and_keeps_the_session()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(client, player.Tokens.RefreshToken)).StatusCode); // its answer never arrived

        app.Clock.Advance(TimeSpan.FromSeconds(10));
        var retried = await RefreshAsync(client, player.Tokens.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        var tokens = (await retried.Content.ReadFromJsonAsync<TokenResponse>())!;
        Assert.Equal(Sid(player.Tokens.AccessToken), Sid(tokens.AccessToken));
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(client, tokens.RefreshToken)).StatusCode);
        Assert.Null(await app.ScalarAsync<string>("SELECT revoked_reason FROM sessions WHERE id = $1", Sid(tokens.AccessToken)));
    }

    [Fact]
    public async Task A_copied_refresh_token_presented_within_the_retry_seconds_leaves_one_branch_and_the_other_ends_the_session()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();
        // The owner refreshes; a thief holding the same token presents it seconds later and gets tokens of its own.
        var owners = (await (await RefreshAsync(client, player.Tokens.RefreshToken)).Content.ReadFromJsonAsync<TokenResponse>())!;
        app.Clock.Advance(TimeSpan.FromSeconds(10));
        var thiefs = (await (await RefreshAsync(client, player.Tokens.RefreshToken)).Content.ReadFromJsonAsync<TokenResponse>())!;

        // The owner's successor was superseded by that "retry": the owner's next refresh, minutes later, ends the session.
        app.Clock.Advance(TimeSpan.FromMinutes(14));
        var owner = await RefreshAsync(client, owners.RefreshToken);

        Assert.Equal("https://streambets.dev/problems/refresh-token-reused", (await owner.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal("https://streambets.dev/problems/invalid-refresh-token", (await (await RefreshAsync(client, thiefs.RefreshToken)).Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
    }

    [Fact]
    public async Task A_used_refresh_token_presented_within_the_retry_seconds_after_its_successor_was_used_ends_the_session()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();
        var next = (await (await RefreshAsync(client, player.Tokens.RefreshToken)).Content.ReadFromJsonAsync<TokenResponse>())!;
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(client, next.RefreshToken)).StatusCode); // its answer did arrive

        app.Clock.Advance(TimeSpan.FromSeconds(5));
        var copy = await RefreshAsync(client, player.Tokens.RefreshToken);

        Assert.Equal("https://streambets.dev/problems/refresh-token-reused", (await copy.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
    }

    [Fact]
    public async Task Reusing_a_used_refresh_token_ends_the_whole_session()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();
        var rotated = (await (await RefreshAsync(client, player.Tokens.RefreshToken)).Content.ReadFromJsonAsync<TokenResponse>())!;

        // Past the seconds a lost answer's retry may take, the token's second use means it was copied.
        app.Clock.Advance(TimeSpan.FromSeconds(31));
        var reuse = await RefreshAsync(client, player.Tokens.RefreshToken);

        Assert.Equal(HttpStatusCode.Unauthorized, reuse.StatusCode);
        Assert.Equal("https://streambets.dev/problems/refresh-token-reused", (await reuse.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        // The legitimate holder's newer tokens die with the session too.
        var successor = await RefreshAsync(client, rotated.RefreshToken);
        Assert.Equal("https://streambets.dev/problems/invalid-refresh-token", (await successor.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        using var rotatedClient = app.ClientFor(rotated.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await rotatedClient.GetAsync("/api/users/me")).StatusCode);
        Assert.Equal("refresh-token-reused", await app.ScalarAsync<string>("SELECT revoked_reason FROM sessions WHERE id = $1", Sid(rotated.AccessToken)));
    }

    [Fact]
    public async Task Logout_revokes_the_session_in_Redis_for_as_long_as_its_tokens_live()
    {
        var player = await app.NewPlayerAsync();
        Assert.Equal(HttpStatusCode.OK, (await player.Client.GetAsync("/api/users/me")).StatusCode);

        var logout = await player.Client.PostAsync("/api/users/logout", null);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await player.Client.GetAsync("/api/users/me")).StatusCode);
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await RefreshAsync(client, player.Tokens.RefreshToken)).StatusCode);

        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        var ttl = await redis.GetDatabase().KeyTimeToLiveAsync(SessionRevocation.Key(Sid(player.Tokens.AccessToken).ToString()));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(16));
    }

    [Fact]
    public async Task A_logout_reaches_a_service_already_running_and_one_that_starts_later()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        using var running = await FollowerAsync(redis);
        var player = await app.NewPlayerAsync();
        var sessionId = Sid(player.Tokens.AccessToken).ToString();
        Assert.False(running.IsRevoked(sessionId));

        await player.Client.PostAsync("/api/users/logout", null);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!running.IsRevoked(sessionId) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(running.IsRevoked(sessionId), "The running service never heard of the logout.");
        using var startedLater = await FollowerAsync(redis);
        Assert.True(startedLater.IsRevoked(sessionId), "A service started after the logout must read the revoked sessions from Redis.");
        Assert.False(startedLater.IsRevoked(Guid.NewGuid().ToString()));

        static async Task<SessionRevocation> FollowerAsync(IConnectionMultiplexer redis)
        {
            var services = new ServiceCollection().AddSingleton(redis).BuildServiceProvider();
            var follower = new SessionRevocation(services, TimeProvider.System, NullLogger<SessionRevocation>.Instance);
            await follower.StartAsync(CancellationToken.None);
            return follower;
        }
    }

    [Fact]
    public async Task Logging_out_one_session_leaves_the_others_signed_in()
    {
        var player = await app.NewPlayerAsync();
        var otherDevice = app.ClientFor((await app.LoginAsync(player.Email, player.Password)).AccessToken);

        await player.Client.PostAsync("/api/users/logout", null);

        Assert.Equal(HttpStatusCode.OK, (await otherDevice.GetAsync("/api/users/me")).StatusCode);
    }

    [Fact]
    public async Task A_tampered_token_is_rejected()
    {
        var player = await app.NewPlayerAsync();
        var parts = player.Tokens.AccessToken.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"player\"", "\"admin\"", StringComparison.Ordinal);
        var tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
        using var client = app.ClientFor(tampered);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/users/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/users/admin/kyc/reviews")).StatusCode);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_rejected()
    {
        var player = await app.NewPlayerAsync();
        var forged = TestTokens.New().Token(player.Id, "admin", expires: app.Clock.GetUtcNow().UtcDateTime.AddMinutes(5));
        using var client = app.ClientFor(forged);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/users/me")).StatusCode);
    }

    [Fact]
    public async Task A_token_whose_signature_was_checked_before_is_still_refused_once_expired_and_a_tampered_copy_is_refused()
    {
        // The signature of a token text is checked once (SignatureCheckedOnce); everything else on every request.
        var player = await app.NewPlayerAsync();
        Assert.Equal(HttpStatusCode.OK, (await player.Client.GetAsync("/api/users/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await player.Client.GetAsync("/api/users/me")).StatusCode);

        var parts = player.Tokens.AccessToken.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"player\"", "\"admin\"", StringComparison.Ordinal);
        using var tampered = app.ClientFor($"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await tampered.GetAsync("/api/users/me")).StatusCode);

        app.Clock.Advance(TimeSpan.FromMinutes(16));
        Assert.Equal(HttpStatusCode.Unauthorized, (await player.Client.GetAsync("/api/users/me")).StatusCode);
    }

    [Fact]
    public async Task An_expired_token_is_rejected_and_refresh_gives_a_working_one()
    {
        var player = await app.NewPlayerAsync();

        app.Clock.Advance(TimeSpan.FromMinutes(16));

        Assert.Equal(HttpStatusCode.Unauthorized, (await player.Client.GetAsync("/api/users/me")).StatusCode);
        using var client = app.CreateClient();
        var tokens = (await (await RefreshAsync(client, player.Tokens.RefreshToken)).Content.ReadFromJsonAsync<TokenResponse>())!;
        using var refreshedClient = app.ClientFor(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await refreshedClient.GetAsync("/api/users/me")).StatusCode);
    }

    [Fact]
    public async Task A_refresh_token_expires_after_14_unused_days()
    {
        var player = await app.NewPlayerAsync();

        app.Clock.Advance(TimeSpan.FromDays(14));

        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await RefreshAsync(client, player.Tokens.RefreshToken)).StatusCode);
    }

    [Fact]
    public async Task More_sessions_refreshing_at_once_than_the_connection_pool_holds_are_all_answered_promptly()
    {
        // Rotating the token key pair makes every app refresh at once.
        var player = await app.NewPlayerAsync();
        var sessions = await Task.WhenAll(Enumerable.Range(0, app.MaxPoolSize + 10).Select(_ => app.LoginAsync(player.Email, player.Password)));
        using var client = app.CreateClient();

        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(sessions.Select(session => RefreshAsync(client, session.RefreshToken)));
        var elapsed = clock.Elapsed;

        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.StatusCode));
        // Well under Npgsql's 15-second wait for a pooled connection, which a starved pool runs into.
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"{sessions.Length} refreshes took {elapsed}.");
    }

    [Fact]
    public async Task An_access_token_never_outlives_its_session()
    {
        var player = await app.NewPlayerAsync();
        var sessionEnds = await SessionEndsAsync(player.Tokens);
        using var client = app.CreateClient();

        var lastMinute = await KeepRefreshingUntilAsync(client, player.Tokens, sessionEnds - TimeSpan.FromMinutes(1));

        Assert.Equal(sessionEnds, lastMinute.ExpiresAt);
        Assert.Equal(60, lastMinute.ExpiresIn);
        Assert.InRange(new JsonWebToken(lastMinute.AccessToken).ValidTo, sessionEnds.UtcDateTime.AddSeconds(-1), sessionEnds.UtcDateTime);
        using var lastClient = app.ClientFor(lastMinute.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await lastClient.GetAsync("/api/users/me")).StatusCode);
        app.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await lastClient.GetAsync("/api/users/me")).StatusCode);
    }

    [Fact]
    public async Task Ending_a_users_sessions_also_revokes_a_session_that_ended_within_an_access_tokens_lifetime()
    {
        // An access token issued before tokens stopped at their session's end may outlive the session by minutes; only the
        // revocation list refuses it then.
        var player = await app.NewPlayerAsync();
        var sessionEnds = await SessionEndsAsync(player.Tokens);
        using var client = app.CreateClient();
        await KeepRefreshingUntilAsync(client, player.Tokens, sessionEnds - TimeSpan.FromMinutes(1));
        app.Clock.Advance(TimeSpan.FromMinutes(2));
        using var admin = await app.AdminClientAsync();

        var ended = await admin.PostAsync($"/api/users/admin/users/{player.Id}/sessions/end", null);

        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Equal(1, (await ended.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("ended").GetInt32());
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        Assert.True(await redis.GetDatabase().KeyExistsAsync(SessionRevocation.Key(Sid(player.Tokens.AccessToken).ToString())));
    }

    [Fact]
    public async Task Ending_a_users_sessions_announces_again_the_sessions_a_password_change_ended_whose_announcement_was_lost()
    {
        var player = await app.NewPlayerAsync();
        var other = await app.LoginAsync(player.Email, player.Password);
        var otherSession = Sid(other.AccessToken).ToString();
        using var client = app.ClientFor(player.Tokens.AccessToken);
        using var admin = await app.AdminClientAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);

        var changed = await client.PostAsJsonAsync("/api/users/me/password", new { currentPassword = player.Password, newPassword = "another-long-password" });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        // The change's announcement of the other session never reached Redis; repeating the change ends nothing more.
        await redis.GetDatabase().KeyDeleteAsync(SessionRevocation.Key(otherSession));
        var ended = await admin.PostAsync($"/api/users/admin/users/{player.Id}/sessions/end", null);

        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        var services = new ServiceCollection().AddSingleton<IConnectionMultiplexer>(redis).BuildServiceProvider();
        using var elsewhere = new SessionRevocation(services, TimeProvider.System, NullLogger<SessionRevocation>.Instance);
        await elsewhere.StartAsync(CancellationToken.None);
        Assert.True(elsewhere.IsRevoked(otherSession), "The kill switch must announce a session a password change ended whose announcement was lost.");
    }

    [Fact]
    public async Task Ending_a_users_sessions_again_announces_the_sessions_whose_first_announcement_was_lost()
    {
        var player = await app.NewPlayerAsync();
        var sessionId = Sid(player.Tokens.AccessToken).ToString();
        using var admin = await app.AdminClientAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);

        var first = await admin.PostAsync($"/api/users/admin/users/{player.Id}/sessions/end", null);
        // The first announcement never reached Redis (it was down: SessionRevocationList logs and carries on), so services
        // other than this one would still accept the session's access token.
        await redis.GetDatabase().KeyDeleteAsync(SessionRevocation.Key(sessionId));
        var repeat = await admin.PostAsync($"/api/users/admin/users/{player.Id}/sessions/end", null);

        Assert.Equal(1, (await first.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("ended").GetInt32());
        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.Equal(0, (await repeat.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("ended").GetInt32());
        // The repeat ended nothing new but announced it again: a service reading the revocations now refuses the token.
        var services = new ServiceCollection().AddSingleton<IConnectionMultiplexer>(redis).BuildServiceProvider();
        using var elsewhere = new SessionRevocation(services, TimeProvider.System, NullLogger<SessionRevocation>.Instance);
        await elsewhere.StartAsync(CancellationToken.None);
        Assert.True(elsewhere.IsRevoked(sessionId), "The repeated kill switch must announce the session whose announcement was lost.");
        Assert.Equal(HttpStatusCode.Unauthorized, (await player.Client.GetAsync("/api/users/me")).StatusCode);
    }

    private async Task<DateTimeOffset> SessionEndsAsync(TokenResponse tokens) =>
        new(await app.ScalarAsync<DateTime>("SELECT expires_at FROM sessions WHERE id = $1", Sid(tokens.AccessToken)));

    /// <summary>Keeps the session going with a refresh at least every 13 days (a refresh token lasts 14 unused), the last one at <paramref name="until"/>.</summary>
    private async Task<TokenResponse> KeepRefreshingUntilAsync(HttpClient client, TokenResponse tokens, DateTimeOffset until)
    {
        while (app.Clock.GetUtcNow() < until)
        {
            var wait = until - app.Clock.GetUtcNow();
            app.Clock.Advance(wait < TimeSpan.FromDays(13) ? wait : TimeSpan.FromDays(13));
            var refreshed = await RefreshAsync(client, tokens.RefreshToken);
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
            tokens = (await refreshed.Content.ReadFromJsonAsync<TokenResponse>())!;
        }
        return tokens;
    }

    [Fact]
    public async Task A_lost_answers_retry_and_its_successor_presented_at_once_queue_on_the_session_instead_of_deadlocking()
    {
        var player = await app.NewPlayerAsync();
        using var client = app.CreateClient();
        var successorToken = (await (await RefreshAsync(client, player.Tokens.RefreshToken)).Content.ReadFromJsonAsync<TokenResponse>())!.RefreshToken;
        var store = app.Services.GetRequiredService<SessionStore>();
        var now = app.Clock.GetUtcNow();
        await using var retry = new NpgsqlConnection(app.ConnectionString);
        await using var successor = new NpgsqlConnection(app.ConnectionString);
        await retry.OpenAsync();
        await successor.OpenAsync();
        await using var retryTransaction = await retry.BeginTransactionAsync();
        await using var successorTransaction = await successor.BeginTransactionAsync();

        // The first token presented again (its answer was lost) takes its locks; its successor, presented meanwhile, waits
        // for them, and then the retry supersedes that successor, as a refresh does (Authenticator.RefreshAsync).
        var retried = (await SessionStore.FindForRotationAsync(retryTransaction, player.Tokens.RefreshToken, default))!;
        var presentingSuccessor = Task.Run(() => SessionStore.FindForRotationAsync(successorTransaction, successorToken, default));
        await WaitUntilBlockedByAsync(retry.ProcessID);
        var retryIsCopied = await SessionStore.IsCopiedAsync(retryTransaction, retried, store.RefreshTokenReuseInterval, now, default);
        await store.RotateAsync(retryTransaction, retried, now, default);
        await retryTransaction.CommitAsync();
        var presented = (await presentingSuccessor.WaitAsync(TimeSpan.FromSeconds(10)))!;
        var successorIsCopied = await SessionStore.IsCopiedAsync(successorTransaction, presented, store.RefreshTokenReuseInterval, now, default);

        // No deadlock (40P01, a 500): the retry gets new tokens, and the successor it superseded is then a copy
        // (refresh-token-reused), as when the two come one after the other.
        Assert.False(retryIsCopied);
        Assert.True(presented.Superseded);
        Assert.True(successorIsCopied);
    }

    /// <summary>Waits until some statement waits for a lock the given backend holds.</summary>
    private async Task WaitUntilBlockedByAsync(int holder)
    {
        for (var waited = TimeSpan.Zero; waited < TimeSpan.FromSeconds(10); waited += TimeSpan.FromMilliseconds(20))
        {
            if (await app.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", holder) > 0)
            {
                return;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("Nothing waited for the locks.");
    }

    private static Task<HttpResponseMessage> RefreshAsync(HttpClient client, string refreshToken) =>
        client.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken });

    private static Guid Sid(string accessToken) => Guid.Parse(new JsonWebToken(accessToken).GetClaim("sid").Value);

    [Theory]
    [InlineData("a public key of another pair", "are not one key pair")]
    [InlineData("no public key", "Auth:PublicKey must be")]
    [InlineData("a 1024-bit key", "access tokens need at least 2048 bits")]
    public async Task Users_will_not_start_with_a_token_key_pair_that_cannot_work(string setup, string expected)
    {
        var (privateKey, publicKey) = setup switch
        {
            "a public key of another pair" => (TestTokens.Shared.PrivateKey, TestTokens.New().PublicKey),
            "no public key" => (TestTokens.Shared.PrivateKey, ""),
            _ => WeakPair(),
        };
        await using var misconfigured = new KeysApp(privateKey, publicKey);

        var refused = await Record.ExceptionAsync(misconfigured.InitializeAsync);

        Assert.NotNull(refused);
        Assert.Contains(expected, string.Join(" | ", Flatten(refused).Select(e => e.Message)));

        static (string, string) WeakPair()
        {
            using var rsa = System.Security.Cryptography.RSA.Create(1024);
            return (Convert.ToBase64String(rsa.ExportPkcs8PrivateKey()), Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()));
        }

        static IEnumerable<Exception> Flatten(Exception e) =>
            e is AggregateException all ? all.InnerExceptions.SelectMany(Flatten)
            : e.InnerException is { } inner ? [e, .. Flatten(inner)]
            : [e];
    }

    private sealed class KeysApp(string privateKey, string publicKey) : AccountsTestApp
    {
        protected override IEnumerable<KeyValuePair<string, string>> Settings() =>
        [
            .. base.Settings().Where(setting => !setting.Key.StartsWith("Auth:", StringComparison.Ordinal)),
            new("Auth:SigningKey", privateKey),
            new("Auth:PublicKey", publicKey),
        ];
    }
}
