using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Users.Auth;

namespace StreamBets.Users.Tests;

/// <summary>Its own app: the tests move its clock by months.</summary>
public sealed class AuthSessionRetentionTests(AccountsTestApp app) : IClassFixture<AccountsTestApp>
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    [Fact]
    public async Task Sessions_ended_more_than_30_days_ago_are_deleted_with_their_refresh_tokens_and_live_ones_stay()
    {
        var loggedOut = await app.NewPlayerAsync();
        var oldToken = await RefreshTimesAsync(loggedOut.Tokens.RefreshToken, 3);
        Assert.Equal(HttpStatusCode.NoContent, (await loggedOut.Client.PostAsync("/api/users/logout", null)).StatusCode);
        var expiring = await app.NewPlayerAsync(); // never revoked: it ends at its 30 days
        await RefreshTimesAsync(expiring.Tokens.RefreshToken, 2);

        app.Clock.Advance(Retention + TimeSpan.FromMinutes(1)); // the logout is 30 days and a minute ago, the expiry a minute ago
        var live = await app.NewPlayerAsync();
        var liveToken = await RefreshTimesAsync(live.Tokens.RefreshToken, 1);
        // Batches of 2, so several statements run for each table.
        await app.Services.GetRequiredService<SessionStore>().DeleteEndedAsync(app.Clock.GetUtcNow(), default, batchSize: 2);

        Assert.Equal((0L, 0L), await RowsAsync(loggedOut.Id));
        Assert.Equal((1L, 3L), await RowsAsync(expiring.Id));
        Assert.Equal((1L, 2L), await RowsAsync(live.Id));
        // A deleted session's token is refused as any unknown one, never a 500.
        var refused = await RefreshAsync(oldToken);
        Assert.Equal("https://streambets.dev/problems/invalid-refresh-token", (await refused.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
        var refreshed = await RefreshAsync(liveToken);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);

        app.Clock.Advance(Retention);
        await app.Services.GetRequiredService<SessionStore>().DeleteEndedAsync(app.Clock.GetUtcNow(), default, batchSize: 2);

        Assert.Equal((0L, 0L), await RowsAsync(expiring.Id));
        Assert.Equal(1L, (await RowsAsync(live.Id)).Sessions); // ended just now, at its 30 days: kept for the retention
    }

    [Fact]
    public async Task The_cleanup_keeps_the_used_tokens_of_live_sessions_and_sessions_ended_within_30_days()
    {
        var copied = await app.NewPlayerAsync();
        await RefreshTimesAsync(copied.Tokens.RefreshToken, 1);
        var loggedOut = await app.NewPlayerAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await loggedOut.Client.PostAsync("/api/users/logout", null)).StatusCode);

        app.Clock.Advance(Retention - TimeSpan.FromMinutes(1));
        await app.Services.GetRequiredService<SessionStore>().DeleteEndedAsync(app.Clock.GetUtcNow(), default);

        Assert.Equal((1L, 1L), await RowsAsync(loggedOut.Id));
        // The used token is still known, so presenting it again long after its use still reads as a copy.
        var reused = await RefreshAsync(copied.Tokens.RefreshToken);
        Assert.Equal("https://streambets.dev/problems/refresh-token-reused", (await reused.Content.ReadFromJsonAsync<ProblemDetails>())!.Type);
    }

    private async Task<(long Sessions, long RefreshTokens)> RowsAsync(Guid userId) => (
        await app.ScalarAsync<long>("SELECT count(*) FROM sessions WHERE user_id = $1", userId),
        // A token cannot outlive its session's row (its foreign key), so the user's tokens are those of its sessions.
        await app.ScalarAsync<long>("SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1", userId));

    /// <summary>Refreshes a session that many times; answers the last token issued.</summary>
    private async Task<string> RefreshTimesAsync(string refreshToken, int times)
    {
        for (var i = 0; i < times; i++)
        {
            var response = await RefreshAsync(refreshToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            refreshToken = (await response.Content.ReadFromJsonAsync<TokenResponse>())!.RefreshToken;
        }
        return refreshToken;
    }

    private async Task<HttpResponseMessage> RefreshAsync(string refreshToken)
    {
        using var client = app.CreateClient();
        return await client.PostAsJsonAsync("/api/users/token/refresh", new { refreshToken });
    }
}
