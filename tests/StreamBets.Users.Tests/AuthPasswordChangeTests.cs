using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using StackExchange.Redis;
using StreamBets.Testing;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Tests;

public sealed class AuthPasswordChangeTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private const string NewPassword = "a-brand-new-passphrase";

    [Fact]
    public async Task Changing_the_password_ends_every_other_session_and_only_the_new_password_signs_in()
    {
        var player = await app.NewPlayerAsync();
        var thief = await app.LoginAsync(player.Email, player.Password);
        using var thiefClient = app.ClientFor(thief.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await thiefClient.GetAsync("/api/users/me")).StatusCode);

        var changed = await ChangeAsync(player.Client, player.Password, NewPassword);

        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(1, (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("endedSessions").GetInt32());
        // The other session: its access token is refused (here and, through Redis, everywhere), its refresh token too.
        Assert.Equal(HttpStatusCode.Unauthorized, (await thiefClient.GetAsync("/api/users/me")).StatusCode);
        using var anyone = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await RefreshAsync(anyone, thief.RefreshToken)).StatusCode);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(app.RedisConnectionString);
        Assert.True(await redis.GetDatabase().KeyExistsAsync(SessionRevocation.Key(Sid(thief.AccessToken).ToString())));
        Assert.Equal("password-changed", await app.ScalarAsync<string>("SELECT revoked_reason FROM sessions WHERE id = $1", Sid(thief.AccessToken)));
        // The caller's own session goes on, access and refresh.
        Assert.Equal(HttpStatusCode.OK, (await player.Client.GetAsync("/api/users/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(anyone, player.Tokens.RefreshToken)).StatusCode);
        // The old password signs in no more; the new one does.
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, player.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, NewPassword)).StatusCode);
    }

    [Fact]
    public async Task A_wrong_current_password_counts_as_a_failed_sign_in_and_five_lock_even_the_right_one()
    {
        var player = await app.NewPlayerAsync();
        const string network = "ip:203.0.113.41";

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add(await ChangeAsync(player.Client, "not-my-password", NewPassword, network));
        }
        var withRightPassword = await ChangeAsync(player.Client, player.Password, NewPassword, network);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Forbidden, 4), HttpStatusCode.Locked], answers.Select(a => a.StatusCode));
        Assert.Equal("https://streambets.dev/problems/wrong-password", (await answers[0].Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(HttpStatusCode.Locked, withRightPassword.StatusCode);
        Assert.Equal("https://streambets.dev/problems/account-locked", (await withRightPassword.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        // The same lockout as sign-in's: the email is locked from that network there too, and nothing changed.
        using var anyone = app.CreateClient();
        Assert.Equal(HttpStatusCode.Locked, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, player.Password, network)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, player.Password, "ip:203.0.113.42")).StatusCode);

        app.Clock.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(HttpStatusCode.OK, (await ChangeAsync(player.Client, player.Password, NewPassword, network)).StatusCode);
    }

    [Fact]
    public async Task Failed_sign_ins_count_toward_the_lockout_of_a_change_and_a_right_current_password_clears_its_networks_failures()
    {
        var player = await app.NewPlayerAsync();
        const string network = "ip:203.0.113.51";
        using var anyone = app.CreateClient();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, "a-wrong-password", network)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await ChangeAsync(player.Client, player.Password, NewPassword, network)).StatusCode);

        // Cleared: four more failures from that network do not lock it, the fifth would.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await ChangeAsync(player.Client, "a-wrong-password", "yet-another-passphrase", network)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Locked, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, "a-wrong-password", network)).StatusCode);
    }

    [Fact]
    public async Task A_malformed_change_is_a_validation_problem_naming_its_fields_and_changes_nothing()
    {
        var player = await app.NewPlayerAsync();

        var missing = await player.Client.PostAsJsonAsync("/api/users/me/password", new { });
        var tooShort = await ChangeAsync(player.Client, player.Password, "short");
        var tooLong = await ChangeAsync(player.Client, player.Password, new string('x', 129));
        var theEmail = await ChangeAsync(player.Client, player.Password, player.Email);
        var same = await ChangeAsync(player.Client, player.Password, player.Password);

        Assert.Equal(["currentPassword", "newPassword"], await InvalidFieldsAsync(missing));
        Assert.Equal(["newPassword"], await InvalidFieldsAsync(tooShort));
        Assert.Equal(["newPassword"], await InvalidFieldsAsync(tooLong));
        Assert.Equal(["newPassword"], await InvalidFieldsAsync(theEmail));
        Assert.Equal(["newPassword"], await InvalidFieldsAsync(same));
        using var anyone = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, player.Password)).StatusCode);
    }

    [Fact]
    public async Task An_anonymous_change_is_refused()
    {
        using var anyone = app.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await ChangeAsync(anyone, "whatever-password", NewPassword)).StatusCode);
    }

    [Fact]
    public async Task Two_changes_at_once_from_two_sessions_end_with_one_password_and_one_session()
    {
        var player = await app.NewPlayerAsync();
        var other = await app.LoginAsync(player.Email, player.Password);
        using var otherClient = app.ClientFor(other.AccessToken);
        await using var pause = await app.PauseWritesAsync("users", $"NEW.id = '{player.Id}' AND NEW.password_hash <> OLD.password_hash", "UPDATE");

        // The first change holds the user's row, its new hash not yet written, when the second comes to lock it.
        var first = ChangeAsync(player.Client, player.Password, "first-new-passphrase");
        await pause.HeldAsync(first);
        var second = ChangeAsync(otherClient, player.Password, "second-new-passphrase");
        await app.BlockedOrDoneAsync(second, "wait_event <> 'advisory'");
        await pause.ReleaseAsync();

        // The first wins and ends the second's session, which the second then finds ended: no 500, one password.
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        var lost = await second;
        Assert.Equal(HttpStatusCode.Unauthorized, lost.StatusCode);
        Assert.Equal("https://streambets.dev/problems/session-ended", (await lost.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        Assert.Equal(HttpStatusCode.OK, (await player.Client.GetAsync("/api/users/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await otherClient.GetAsync("/api/users/me")).StatusCode);
        using var anyone = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, "first-new-passphrase")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, "second-new-passphrase")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AccountsTestApp.AttemptLoginAsync(anyone, player.Email, player.Password)).StatusCode);
    }

    [Fact]
    public async Task A_sign_in_with_the_old_password_under_way_while_it_changes_gets_no_session()
    {
        var player = await app.NewPlayerAsync();
        await using var pause = await app.PauseWritesAsync("users", $"NEW.id = '{player.Id}' AND NEW.password_hash <> OLD.password_hash", "UPDATE");

        // The change holds the user's row when a sign-in with the old password (a thief's), its hash already checked, comes
        // to start its session.
        var change = ChangeAsync(player.Client, player.Password, NewPassword);
        await pause.HeldAsync(change);
        using var anyone = app.CreateClient();
        var signIn = AccountsTestApp.AttemptLoginAsync(anyone, player.Email, player.Password);
        await app.BlockedOrDoneAsync(signIn, "wait_event <> 'advisory'");
        await pause.ReleaseAsync();

        Assert.Equal(HttpStatusCode.OK, (await change).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await signIn).StatusCode);
        Assert.Equal(1, await app.ScalarAsync<long>("SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", player.Id));
    }

    private static async Task<HttpResponseMessage> ChangeAsync(HttpClient client, string currentPassword, string newPassword, string? network = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/me/password")
        {
            Content = JsonContent.Create(new { currentPassword, newPassword }),
        };
        if (network is not null)
        {
            request.Headers.Add(LoginSource.Header, network);
        }
        return await client.SendAsync(request);
    }

    private static async Task<string[]> InvalidFieldsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!;
        Assert.Equal("https://streambets.dev/problems/invalid-request", problem.Type);
        return [.. problem.Errors.Keys.Order(StringComparer.Ordinal)];
    }

    private static Task<HttpResponseMessage> RefreshAsync(HttpClient client, string refreshToken) =>
        client.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken });

    private static Guid Sid(string accessToken) => Guid.Parse(new JsonWebToken(accessToken).GetClaim("sid").Value);
}
