using System.Security.Claims;
using Bunit;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.Admin.Operations;
using StreamBets.FrontEnd.Auth;
using StreamBets.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A test of the console's pages: each test renders them in its own bUnit context, calling <see cref="Gateway"/> as a
/// signed-in admin. The session's tokens are in a real Redis, as in the app, and the console's own
/// <see cref="OperatorGateway"/> sends every call.
/// </summary>
public abstract class ConsoleTest : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    // bUnit waits 1 s by default: too short for a first render while the whole suite runs on two cores.
    static ConsoleTest() => BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);

    protected BunitContext Bunit { get; } = new();
    protected ScriptedGateway Gateway { get; } = new();
    /// <summary>The pages' clock: a test moves it to fire their timed reads.</summary>
    protected FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        var http = new Clients(Gateway);
        var tokens = new SessionTokens(new FrontEndApp("admin-tests", "streambets-admin", "tests"), _redis, new EphemeralDataProtectionProvider(),
            http, TimeProvider.System, NullLogger<SessionTokens>.Instance);
        var sessionId = Guid.NewGuid().ToString();
        var stored = new StoredTokens("admin-token", DateTimeOffset.UtcNow.AddMinutes(10), "refresh-token", DateTimeOffset.UtcNow.AddDays(1), Guid.NewGuid(), "Local admin", "admin");
        await tokens.SaveAsync(sessionId, stored);
        var session = new UserSession(new SignedIn(SessionClaims.Principal(sessionId, stored)), tokens);
        Bunit.Services.AddSingleton(new OperatorGateway(http, session, NullLogger<OperatorGateway>.Instance));
        Bunit.Services.AddSingleton<TimeProvider>(Clock);
    }

    public async Task DisposeAsync()
    {
        await Bunit.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>A settlement that stopped after paying 400 of its 1,000 bets.</summary>
    protected static Settlement Failed(Guid poolId) => new(poolId, "resolved", "failed", 5, "Ledger refused payment: escrow-account-missing",
        DateTimeOffset.UtcNow.AddMinutes(-5), null, 1_000, 400, null, null, null, null);

    private sealed class SignedIn(ClaimsPrincipal user) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(user));
    }

    private sealed class Clients(HttpMessageHandler gateway) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(gateway, disposeHandler: false) { BaseAddress = new Uri("http://gateway") };
    }
}
