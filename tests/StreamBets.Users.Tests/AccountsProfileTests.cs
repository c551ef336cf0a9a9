using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.IdentityModel.JsonWebTokens;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Testing;
using StreamBets.Users.Accounts;
using StreamBets.Users.Apis;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Tests;

public sealed class AccountsProfileTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    [Fact]
    public async Task A_player_edits_their_profile_and_the_new_name_reaches_the_token_at_the_next_refresh()
    {
        var player = await app.NewPlayerAsync();

        var update = await player.Client.PutAsJsonAsync("/api/users/me",
            new { displayName = "  Ana Banana ", avatarUrl = "https://cdn.example.com/ana.png", marketingOptIn = true });
        var profile = await player.Client.GetFromJsonAsync<ProfileView>("/api/users/me");
        var refreshed = await RefreshAsync(player.Tokens.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal(("Ana Banana", "https://cdn.example.com/ana.png", true), (profile!.DisplayName, profile.AvatarUrl, profile.MarketingOptIn));
        Assert.Equal("Ana Banana", new JsonWebToken(refreshed.AccessToken).GetClaim("name").Value);
        // The saved name goes out too, after the registration's events: Pools shows it on the leaderboards.
        Assert.Equal("streambets.users.profile-changed.v1", (await app.PublishedEventTypesAsync(player.Id, atLeast: 3))[^1]);
    }

    [Theory]
    [InlineData("Ana \U0001F468\u200D\U0001F469\u200D\U0001F467")] // a family emoji: joiners between visible characters
    [InlineData("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645")] // Persian, with a non-joiner inside the word
    [InlineData("Ana \u2764\uFE0F")] // a red heart: the variation selector that colours it draws nothing itself
    public async Task A_display_name_may_hold_the_joiners_of_emoji_and_scripts(string displayName)
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PutAsJsonAsync("/api/users/me", new { displayName });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(displayName, (await player.Client.GetFromJsonAsync<ProfileView>("/api/users/me"))!.DisplayName);
    }

    [Theory]
    [InlineData("\u3164\u3164")] // Hangul fillers: letters to Unicode, drawn blank
    [InlineData("\u2800\u2800")] // the blank braille pattern
    [InlineData("A\uFE0F")] // one letter and a variation selector, which draws nothing
    [InlineData("A \u3164")]
    public async Task A_display_name_that_shows_fewer_than_2_characters_is_refused(string displayName)
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PutAsJsonAsync("/api/users/me", new { displayName });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["displayName"], (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors.Keys);
        Assert.Equal("Test Player", (await player.Client.GetFromJsonAsync<ProfileView>("/api/users/me"))!.DisplayName);
    }

    [Theory]
    [InlineData("A\uFE0F", "A\uFE0F")]
    [InlineData("\u3164\u3164", " \u3164\u3164 ")] // sent with spaces around it: compared after the trimming every saved name gets
    public async Task A_name_stored_before_the_rule_tightened_is_kept_when_the_player_only_withdraws_marketing_consent(string stored, string sent)
    {
        var player = await app.NewPlayerAsync();
        await app.ScalarAsync<object>("UPDATE users SET display_name = $2, marketing_opt_in = true WHERE id = $1", player.Id, stored);

        var response = await player.Client.PutAsJsonAsync("/api/users/me", new { displayName = sent, avatarUrl = (string?)null, marketingOptIn = false });

        // Consent is withdrawn without being made to rename first.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((stored, false), (
            await app.ScalarAsync<string>("SELECT display_name FROM users WHERE id = $1", player.Id),
            await app.ScalarAsync<bool>("SELECT marketing_opt_in FROM users WHERE id = $1", player.Id)));
    }

    [Fact]
    public async Task A_name_stored_before_the_rule_tightened_cannot_be_changed_to_another_that_breaks_it()
    {
        var player = await app.NewPlayerAsync();
        await app.ScalarAsync<object>("UPDATE users SET display_name = $2, marketing_opt_in = true WHERE id = $1", player.Id, "A\uFE0F");

        var response = await player.Client.PutAsJsonAsync("/api/users/me", new { displayName = "\u3164\u3164", marketingOptIn = false });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["displayName"], (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors.Keys);
        Assert.Equal(("A\uFE0F", true), (
            await app.ScalarAsync<string>("SELECT display_name FROM users WHERE id = $1", player.Id),
            await app.ScalarAsync<bool>("SELECT marketing_opt_in FROM users WHERE id = $1", player.Id)));
    }

    [Theory]
    [InlineData("http://cdn.example.com/ana.png")]
    [InlineData("javascript:alert(1)")]
    [InlineData("/relative/ana.png")]
    [InlineData("https://cdn.example.com/a\u0000.png")]
    [InlineData("https://cdn.example.com/a\u202E.png")]
    public async Task An_avatar_must_be_an_absolute_https_url(string avatarUrl)
    {
        var player = await app.NewPlayerAsync();

        var response = await player.Client.PutAsJsonAsync("/api/users/me", new { displayName = "Ana", avatarUrl });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("avatarUrl", (await response.Content.ReadFromJsonAsync<ValidationProblemDetails>())!.Errors.Keys);
        Assert.Null((await player.Client.GetFromJsonAsync<ProfileView>("/api/users/me"))!.AvatarUrl);
    }

    [Fact]
    public async Task The_bootstrap_admin_exists_in_development()
    {
        Assert.Equal("admin", await app.ScalarAsync<string>("SELECT role FROM users WHERE lower(email) = lower($1)", AccountsTestApp.AdminEmail));
    }

    [Fact]
    public async Task An_admin_makes_a_player_a_streamer_who_then_sees_their_linked_channels()
    {
        var player = await app.NewPlayerAsync();
        await app.ScalarAsync<object>(
            "INSERT INTO linked_channels (user_id, platform, channel_id, channel_name, linked_at) VALUES ($1, 'twitch', $2, 'ana_plays', now())",
            player.Id, Guid.NewGuid().ToString("N"));
        Assert.Equal(HttpStatusCode.Forbidden, (await player.Client.GetAsync("/api/users/me/channels")).StatusCode);
        using var admin = await app.AdminClientAsync();

        var found = await admin.GetFromJsonAsync<ProfileView>($"/api/users/admin/users?email={Uri.EscapeDataString(player.Email)}");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/users/admin/users?email=%00")).StatusCode); // no account, not a 500
        var granted = await admin.PutAsJsonAsync($"/api/users/admin/users/{found!.Id}/role", new { role = "streamer" });
        var tokens = await RefreshAsync(player.Tokens.RefreshToken);
        using var streamer = app.ClientFor(tokens.AccessToken);
        var channels = await streamer.GetFromJsonAsync<List<LinkedChannel>>("/api/users/me/channels");

        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        Assert.Equal("streamer", tokens.Role);
        Assert.Equal(("twitch", "ana_plays"), (Assert.Single(channels!).Platform, channels![0].ChannelName));
    }

    [Fact]
    public async Task A_streamer_demoted_loses_their_sessions_at_once_not_when_their_token_expires()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "streamer" })).StatusCode);
        var tokens = await RefreshAsync(player.Tokens.RefreshToken);
        using var streamer = app.ClientFor(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await streamer.GetAsync("/api/users/me/channels")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" })).StatusCode);

        // The token still says streamer for up to 15 minutes: it is refused now, and so is its refresh.
        Assert.Equal(HttpStatusCode.Unauthorized, (await streamer.GetAsync("/api/users/me/channels")).StatusCode);
        using var anyone = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anyone.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);
    }

    [Fact]
    public async Task A_demotion_that_fails_part_way_and_is_sent_again_still_ends_the_streamers_sessions()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "streamer" })).StatusCode);
        var tokens = await RefreshAsync(player.Tokens.RefreshToken);
        using var streamer = app.ClientFor(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await streamer.GetAsync("/api/users/me/channels")).StatusCode);
        await using var fault = await FailFirstRevocationOfSessionsAsync(player.Id); // the database fails (or the admin's request is cut off) after the role changed

        var failed = await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" });
        var retried = await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" });

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal("player", (await retried.Content.ReadFromJsonAsync<ProfileView>())!.Role);
        // The retry still ends the sessions: the streamer's token is refused now, and so is its refresh.
        Assert.Equal(HttpStatusCode.Unauthorized, (await streamer.GetAsync("/api/users/me/channels")).StatusCode);
        using var anyone = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anyone.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);
    }

    [Fact]
    public async Task A_sign_in_while_the_streamer_is_demoted_never_gets_a_working_streamer_token()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "streamer" })).StatusCode);
        await using var pause = await PauseDemotionAsync(player.Id);

        // The demotion holds the user's row and has not yet written the role nor ended the sessions when the streamer
        // signs in (the sign-in read the account as a streamer's), and commits before the sign-in does.
        var demotion = admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" });
        await pause.HeldAsync(demotion);
        var signIn = app.LoginAsync(player.Email, player.Password);
        await app.BlockedOrDoneAsync(signIn, "wait_event <> 'advisory'");
        await pause.ReleaseAsync();
        Assert.Equal(HttpStatusCode.OK, (await demotion).StatusCode);
        var tokens = await signIn;

        // Either the sign-in waited for the demotion and read the player role, or its session was ended with the others.
        using var signedIn = app.ClientFor(tokens.AccessToken);
        var channels = await signedIn.GetAsync("/api/users/me/channels");
        Assert.True(channels.StatusCode == HttpStatusCode.Unauthorized || (tokens.Role == "player" && channels.StatusCode == HttpStatusCode.Forbidden),
            $"A {tokens.Role} token issued during the demotion answered {channels.StatusCode} on a streamer's endpoint.");
    }

    [Fact]
    public async Task A_demotion_while_the_streamer_signs_in_ends_the_session_being_started()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "streamer" })).StatusCode);
        await using var pause = await app.PauseWritesAsync("sessions", $"NEW.user_id = '{player.Id}'", "INSERT");

        // The sign-in has checked the password and read the account, its session not yet inserted, when the demotion is
        // sent; the sign-in commits after the demotion has done what it can.
        var signIn = app.LoginAsync(player.Email, player.Password);
        await pause.HeldAsync(signIn);
        var demotion = admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" });
        await app.BlockedOrDoneAsync(demotion, "wait_event <> 'advisory'");
        await pause.ReleaseAsync();
        var tokens = await signIn;
        Assert.Equal(HttpStatusCode.OK, (await demotion).StatusCode);

        using var signedIn = app.ClientFor(tokens.AccessToken);
        var channels = await signedIn.GetAsync("/api/users/me/channels");
        Assert.True(channels.StatusCode == HttpStatusCode.Unauthorized || (tokens.Role == "player" && channels.StatusCode == HttpStatusCode.Forbidden),
            $"A {tokens.Role} token issued during the demotion answered {channels.StatusCode} on a streamer's endpoint.");
    }

    [Fact]
    public async Task A_refresh_while_the_streamer_is_demoted_never_gets_a_working_streamer_token()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "streamer" })).StatusCode);
        await using var pause = await PauseDemotionAsync(player.Id);

        var demotion = admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" });
        await pause.HeldAsync(demotion);
        using var anyone = app.CreateClient();
        var refresh = anyone.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken = player.Tokens.RefreshToken });
        await app.BlockedOrDoneAsync(refresh, "wait_event <> 'advisory'");
        await pause.ReleaseAsync();
        Assert.Equal(HttpStatusCode.OK, (await demotion).StatusCode);
        var refreshed = await refresh;

        // The refresh read the streamer role before the demotion wrote it: the demotion then ends the session it rotated.
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var tokens = (await refreshed.Content.ReadFromJsonAsync<TokenResponse>())!;
        using var refreshedClient = app.ClientFor(tokens.AccessToken);
        var channels = await refreshedClient.GetAsync("/api/users/me/channels");
        Assert.True(channels.StatusCode == HttpStatusCode.Unauthorized || (tokens.Role == "player" && channels.StatusCode == HttpStatusCode.Forbidden),
            $"A {tokens.Role} token refreshed during the demotion answered {channels.StatusCode} on a streamer's endpoint.");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anyone.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);
    }

    [Fact]
    public async Task A_deposit_does_not_wait_for_a_demotion_of_its_player()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "streamer" })).StatusCode);
        await using var pause = await PauseDemotionAsync(player.Id);

        var demotion = admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" });
        await pause.HeldAsync(demotion);
        // The deposit's record references the user's row: its foreign-key check must not wait for the demotion's lock.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/me/wallet/sandbox-deposit")
        {
            Headers = { { WalletApi.IdempotencyKeyHeader, $"deposit-{Guid.NewGuid()}" } },
            Content = JsonContent.Create(new { amountMinor = 1_000 }),
        };
        var deposit = player.Client.SendAsync(request);
        await app.BlockedOrDoneAsync(deposit, "wait_event <> 'advisory'");
        var depositedDuringDemotion = deposit.IsCompleted;
        await pause.ReleaseAsync();

        Assert.True(depositedDuringDemotion, "The deposit waited for the demotion holding its player's row.");
        Assert.Equal(HttpStatusCode.OK, (await deposit).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await demotion).StatusCode);
    }

    [Fact]
    public async Task Each_role_change_publishes_one_UserRoleChanged_and_a_repeat_or_a_failed_change_none()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        async Task<DateTimeOffset> ChangeRoleAsync(string role, HttpStatusCode expected)
        {
            app.Clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(expected, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role })).StatusCode);
            return app.Clock.GetUtcNow();
        }

        var promoted = await ChangeRoleAsync("streamer", HttpStatusCode.OK);
        await using (await FailFirstRevocationOfSessionsAsync(player.Id))
        {
            await ChangeRoleAsync("player", HttpStatusCode.InternalServerError); // rolled back with its event
        }
        var demoted = await ChangeRoleAsync("player", HttpStatusCode.OK);
        await ChangeRoleAsync("player", HttpStatusCode.OK); // already a player: nothing changed, nothing to tell
        var promotedAgain = await ChangeRoleAsync("streamer", HttpStatusCode.OK);

        // Keyed by the user, so in order: a repeat's event would show between the demotion and the second promotion.
        Assert.Equal(
            [
                new UserRoleChanged(player.Id, "streamer", "player", promoted),
                new UserRoleChanged(player.Id, "player", "streamer", demoted),
                new UserRoleChanged(player.Id, "streamer", "player", promotedAgain),
            ],
            await app.PublishedEventsAsync<UserRoleChanged>(player.Id, atLeast: 3));
    }

    [Fact]
    public async Task A_role_change_whose_event_cannot_be_written_is_not_made()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "streamer" })).StatusCode);
        await using var fault = await app.FailWritesAsync("INSERT", "outbox",
            $"NEW.event_type = 'streambets.users.role-changed.v1' AND NEW.partition_key = '{player.Id}'", "injected fault: the outbox refused the event");

        var demotion = await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "player" });

        // Otherwise Pools would never hear of the demotion and the streamer would keep their channels.
        Assert.Equal(HttpStatusCode.InternalServerError, demotion.StatusCode);
        Assert.Equal("streamer", await app.ScalarAsync<string>("SELECT role FROM users WHERE id = $1", player.Id));
    }

    /// <summary>Holds a demotion of the user inside its transaction: the user's row locked, the role not yet written.</summary>
    private Task<WritePause> PauseDemotionAsync(Guid userId) =>
        app.PauseWritesAsync("users", $"NEW.id = '{userId}' AND OLD.role = 'streamer' AND NEW.role <> 'streamer'", "UPDATE");

    /// <summary>Fails the first statement revoking the user's sessions, once. Dispose to remove the fault.</summary>
    private Task<InjectedFault> FailFirstRevocationOfSessionsAsync(Guid userId) =>
        app.FailWritesAsync("UPDATE", "sessions", $"NEW.user_id = '{userId}' AND OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL",
            "injected fault: revoking the sessions failed", times: 1);

    [Fact]
    public async Task An_admin_ends_every_session_of_a_user_at_once()
    {
        var player = await app.NewPlayerAsync();
        var other = await app.LoginAsync(player.Email, player.Password); // a second device
        using var admin = await app.AdminClientAsync();

        var ended = await admin.PostAsync($"/api/users/admin/users/{player.Id}/sessions/end", null);

        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Equal(2, (await ended.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ended").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, (await player.Client.GetAsync("/api/users/me")).StatusCode);
        using var second = app.ClientFor(other.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.GetAsync("/api/users/me")).StatusCode);
    }

    [Fact]
    public async Task Ending_every_session_while_the_user_signs_in_ends_the_session_being_started()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        await using var pause = await app.PauseWritesAsync("sessions", $"NEW.user_id = '{player.Id}'", "INSERT");

        // A sign-in (the thief of a stolen account) has checked the password and read the account, its session not yet
        // inserted, when the admin ends every session; the sign-in commits after the kill switch has done what it can.
        var signIn = app.LoginAsync(player.Email, player.Password);
        await pause.HeldAsync(signIn);
        var killSwitch = admin.PostAsync($"/api/users/admin/users/{player.Id}/sessions/end", null);
        await app.BlockedOrDoneAsync(killSwitch, "wait_event <> 'advisory'");
        await pause.ReleaseAsync();
        var tokens = await signIn;
        var ended = await killSwitch;
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);

        // The session being started is one of "every session": its access token is refused, and so is its refresh.
        using var signedIn = app.ClientFor(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await signedIn.GetAsync("/api/users/me")).StatusCode);
        using var anyone = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anyone.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await player.Client.GetAsync("/api/users/me")).StatusCode);
        Assert.Equal(2, (await ended.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ended").GetInt32());
    }

    [Fact]
    public async Task Ending_the_sessions_of_a_user_that_does_not_exist_ends_none()
    {
        using var admin = await app.AdminClientAsync();

        var ended = await admin.PostAsync($"/api/users/admin/users/{Guid.NewGuid()}/sessions/end", null);

        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Equal(0, (await ended.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ended").GetInt32());
    }

    [Fact]
    public async Task Admins_are_not_made_or_unmade_through_the_API()
    {
        var player = await app.NewPlayerAsync();
        using var admin = await app.AdminClientAsync();
        var adminId = await app.ScalarAsync<Guid>("SELECT id FROM users WHERE lower(email) = lower($1)", AccountsTestApp.AdminEmail);

        var makeAdmin = await admin.PutAsJsonAsync($"/api/users/admin/users/{player.Id}/role", new { role = "admin" });
        var demoteAdmin = await admin.PutAsJsonAsync($"/api/users/admin/users/{adminId}/role", new { role = "player" });

        Assert.Equal(HttpStatusCode.BadRequest, makeAdmin.StatusCode);
        Assert.Equal("https://streambets.dev/problems/role-not-assignable", (await demoteAdmin.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
    }

    public static TheoryData<string, string> AdminEndpoints() => new()
    {
        { "GET", "/api/users/admin/kyc/reviews" },
        { "POST", $"/api/users/admin/kyc/reviews/{Guid.NewGuid()}/approve" },
        { "POST", $"/api/users/admin/kyc/reviews/{Guid.NewGuid()}/reject" },
        { "GET", "/api/users/admin/users?email=someone@example.com" },
        { "PUT", $"/api/users/admin/users/{Guid.NewGuid()}/role" },
        { "POST", $"/api/users/admin/users/{Guid.NewGuid()}/sessions/end" },
    };

    [Theory]
    [MemberData(nameof(AdminEndpoints))]
    public async Task Only_admins_reach_admin_endpoints(string method, string path)
    {
        var player = await app.NewPlayerAsync();
        using var anonymous = app.CreateClient();

        HttpRequestMessage Request() => new(new HttpMethod(method), path) { Content = method == "GET" ? null : JsonContent.Create(new { role = "streamer", note = "x" }) };

        Assert.Equal(HttpStatusCode.Forbidden, (await player.Client.SendAsync(Request())).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(Request())).StatusCode);
    }

    private async Task<TokenResponse> RefreshAsync(string refreshToken)
    {
        using var client = app.CreateClient();
        var response = await client.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TokenResponse>())!;
    }
}
