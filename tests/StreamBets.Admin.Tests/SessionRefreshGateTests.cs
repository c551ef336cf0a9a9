using System.Collections;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using StreamBets.FrontEnd.Auth;
using StreamBets.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The shared token store (web/StreamBets.FrontEnd, used by the console and the player app) runs one refresh per session
/// at a time, and keeps nothing per session once its refreshes are done. Before, every session ever refreshed left its
/// lock behind for the life of the process.
/// </summary>
public sealed class SessionRefreshGateTests : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;
    private readonly ScriptedGateway _users = new();

    public async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        _users.Answer("/api/users/token/refresh", RefreshAnswers.ForAdmin);
    }

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Sessions_refreshed_leave_nothing_of_theirs_in_the_store()
    {
        var tokens = Store();
        var sessions = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid().ToString()).ToList();
        foreach (var session in sessions)
        {
            await tokens.SaveAsync(session, Expiring());
        }

        var fresh = await Task.WhenAll(sessions.Select(session => tokens.GetFreshAsync(session, CancellationToken.None)));

        Assert.All(fresh, t => Assert.Equal("refresh-refreshed", t!.RefreshToken));
        Assert.Equal(20, _users.Requests.Count);
        Assert.Equal(0, PerSessionEntries(tokens));
    }

    [Fact]
    public async Task Two_refreshes_of_one_session_run_one_at_a_time_and_a_waiter_that_leaves_leaves_nothing_behind()
    {
        var tokens = Store();
        var session = Guid.NewGuid().ToString();
        await tokens.SaveAsync(session, Expiring());
        var answer = _users.HoldNext("/api/users/token/refresh");

        var first = tokens.GetFreshAsync(session, CancellationToken.None);
        await _users.WaitForRequestAsync("POST /api/users/token/refresh");
        var second = tokens.GetFreshAsync(session, CancellationToken.None);
        using var leaving = new CancellationTokenSource();
        var third = tokens.GetFreshAsync(session, leaving.Token);
        await Task.Delay(100);
        Assert.Equal(1, PerSessionEntries(tokens));
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => third);
        answer.SetResult();

        Assert.Equal("refresh-refreshed", (await first)!.RefreshToken);
        Assert.Equal("refresh-refreshed", (await second)!.RefreshToken);
        Assert.Single(_users.Requests); // the second read the first one's tokens: a refresh token is single-use
        Assert.Equal(0, PerSessionEntries(tokens));
    }

    private SessionTokens Store() => new(new FrontEndApp("admin-tests", "streambets-admin", "tests"), _redis, new EphemeralDataProtectionProvider(),
        new Clients(_users), TimeProvider.System, NullLogger<SessionTokens>.Instance);

    /// <summary>How many per-session entries the store keeps in memory: its one collection field.</summary>
    private static int PerSessionEntries(SessionTokens tokens) =>
        typeof(SessionTokens).GetFields(BindingFlags.Instance | BindingFlags.NonPublic).Select(field => field.GetValue(tokens)).OfType<ICollection>().Single().Count;

    /// <summary>Tokens whose access token expires within the refresh margin.</summary>
    private static StoredTokens Expiring() =>
        new("access-old", DateTimeOffset.UtcNow.AddSeconds(10), "refresh-old", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "Local admin", "admin");

    private sealed class Clients(HttpMessageHandler gateway) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(gateway, disposeHandler: false) { BaseAddress = new Uri("http://gateway") };
    }
}
