using System.Globalization;
using System.Reflection;
using System.Security.Claims;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.RenderTree;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;
using StreamBets.FrontEnd.Auth;
using StreamBets.FrontEnd.Gateway;
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
    private SwitchableRedis _sessionStore = null!;
    private UserSession _session = null!;

    // bUnit waits 1 s by default: too short for a first render while the whole suite runs on two cores.
    static ConsoleTest() => BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);

    protected BunitContext Bunit { get; } = new();
    protected ScriptedGateway Gateway { get; } = new();
    /// <summary>The signed-in admin's user id.</summary>
    protected Guid AdminId { get; } = Guid.NewGuid();
    /// <summary>The pages' clock: a test moves it to fire their timed reads.</summary>
    protected FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public virtual async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        var http = new Clients(Gateway);
        (var store, _sessionStore) = SwitchableRedis.Over(_redis);
        var tokens = new SessionTokens(new FrontEndApp("admin-tests", "streambets-admin", "tests"), store, new EphemeralDataProtectionProvider(),
            http, TimeProvider.System, NullLogger<SessionTokens>.Instance);
        var sessionId = Guid.NewGuid().ToString();
        var stored = new StoredTokens("admin-token", DateTimeOffset.UtcNow.AddMinutes(10), "refresh-token", DateTimeOffset.UtcNow.AddDays(1), AdminId, "Local admin", "admin");
        await tokens.SaveAsync(sessionId, stored);
        var session = new UserSession(new SignedIn(SessionClaims.Principal(sessionId, stored)), tokens);
        Bunit.Services.AddSingleton(session);
        Bunit.Services.AddSingleton(new OperatorGateway(http, session, NullLogger<OperatorGateway>.Instance));
        _session = session;
        // No live hub unless a test starts one (LiveHubAt): nothing listens on port 1.
        LiveHubAt(new Uri("http://127.0.0.1:1"));
        Bunit.Services.AddSingleton<TimeProvider>(Clock);
    }

    public virtual async Task DisposeAsync()
    {
        await Bunit.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>
    /// The console's chat streamer changes go to the live hub of the gateway at <paramref name="gateway"/> (before the page
    /// is rendered), each given up on after <paramref name="timeLimit"/> when one is given.
    /// </summary>
    protected void LiveHubAt(Uri gateway, TimeSpan? timeLimit = null)
    {
        var address = new LiveHubAddress(new ConfigurationBuilder().AddInMemoryCollection([new("Gateway:Url", gateway.ToString())]).Build());
        var logger = NullLogger<ChatStreamers>.Instance;
        Bunit.Services.AddSingleton(timeLimit is { } limit
            ? new ChatStreamers(address, _session, logger) { TimeLimit = limit }
            : new ChatStreamers(address, _session, logger));
    }

    /// <summary>From now on the session's tokens cannot be read: Redis throws <paramref name="outage"/>; null ends the outage.</summary>
    protected void SessionStoreFails(Exception? outage) => _sessionStore.Outage = outage;

    /// <summary>An open pool on its own channel with 3 bets, locking in a minute.</summary>
    protected static PoolSummary LivePool(string title) =>
        new(Guid.NewGuid(), new PoolChannel("twitch", $"channel-{Guid.NewGuid():N}"), Guid.NewGuid(), title, "Open", true, 30_00, DateTimeOffset.UtcNow.AddMinutes(1),
            [new PoolOutcome(Guid.NewGuid(), "Yes", 20_00, 2), new PoolOutcome(Guid.NewGuid(), "No", 10_00, 1)]);

    /// <summary>A button of a row, by the start of its text ("Lock", "Cancel", "Refund", "Requeue").</summary>
    protected static AngleSharp.Dom.IElement Button<TPage>(IRenderedComponent<TPage> page, string row, string text) where TPage : IComponent =>
        page.FindAll($"{row} button").Single(button => button.TextContent.StartsWith(text, StringComparison.Ordinal));

    /// <summary>The confirmation open in <paramref name="row"/> (any element around it): its first button acts, the second closes it.</summary>
    protected static AngleSharp.Dom.IElement Confirmation<TPage>(IRenderedComponent<TPage> page, string row) where TPage : IComponent =>
        page.FindAll($"{row} [data-testid=confirm] button")[0];

    /// <summary>The confirmation's dismissing button ("Cancel", or "Keep" on Live pools) in <paramref name="row"/>.</summary>
    protected static AngleSharp.Dom.IElement Dismissal<TPage>(IRenderedComponent<TPage> page, string row) where TPage : IComponent =>
        page.FindAll($"{row} [data-testid=confirm] button")[1];

    /// <summary>
    /// Clicks a row's action ("Lock", "Cancel", "Requeue"), then the confirmation it opens. Each is found and clicked on the
    /// renderer: a page that renders by itself (a timed read, an answer) between a Find and a Click retires the handler
    /// of the element found ("no event handler with ID"), as tests that clicked outside it did now and then.
    /// </summary>
    protected static async Task ConfirmAsync<TPage>(IRenderedComponent<TPage> page, string row, string action) where TPage : IComponent
    {
        await page.InvokeAsync(() => Button(page, row, action).ClickAsync(new()));
        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
    }

    /// <summary>
    /// The click handler <paramref name="button"/> has in the page's current render, to deliver a click after the page
    /// has rendered again without it: Blazor Server keeps a handler until the browser has the render that removed it,
    /// so a click sent from the old render still reaches the page (bUnit retires it at once).
    /// </summary>
    protected Func<Task> ClickSentFrom<TPage>(IRenderedComponent<TPage> page, AngleSharp.Dom.IElement button) where TPage : ComponentBase
    {
        var handlerId = ulong.Parse(button.GetAttribute("blazor:onclick")!, CultureInfo.InvariantCulture);
        // The page's render tree holds the handler; a renderer shows it only to itself (a protected method).
#pragma warning disable BL0006 // render tree types: read here as the renderer reads them
        var frames = (ArrayRange<RenderTreeFrame>)typeof(Renderer)
            .GetMethod("GetCurrentRenderTreeFrames", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(Bunit.Renderer, [page.ComponentId])!;
        var handler = frames.Array.Take(frames.Count)
            .Single(frame => frame.FrameType == RenderTreeFrameType.Attribute && frame.AttributeEventHandlerId == handlerId).AttributeValue;
#pragma warning restore BL0006
        // A lambda is kept with the page as its receiver (a callback), a method of the page's as itself.
        return handler switch
        {
            EventCallback callback => () => page.InvokeAsync(() => callback.InvokeAsync(new MouseEventArgs())),
            EventCallback<MouseEventArgs> callback => () => page.InvokeAsync(() => callback.InvokeAsync(new MouseEventArgs())),
            MulticastDelegate method => () => page.InvokeAsync(() => new EventCallback(page.Instance, method).InvokeAsync(new MouseEventArgs())),
            _ => throw new InvalidOperationException($"The click handler is a {handler?.GetType().Name}."),
        };
    }

    /// <summary>The element the page last moved keyboard focus to, by its element reference.</summary>
    protected string? FocusedLast() =>
        Bunit.JSInterop.Invocations.Last(i => i.Identifier.EndsWith("focus", StringComparison.Ordinal)).Arguments[0] is ElementReference element ? element.Id : null;

    /// <summary>The button the page last moved keyboard focus to: where an Enter pressed now lands.</summary>
    protected AngleSharp.Dom.IElement FocusedButton<TPage>(IRenderedComponent<TPage> page) where TPage : IComponent
    {
        var focused = FocusedLast();
        return page.FindAll("button").Single(button => button.GetAttribute("blazor:elementReference") == focused);
    }

    /// <summary>The elements the page moved keyboard focus to, by their element references, in order.</summary>
    protected IReadOnlyList<string?> FocusMoves() =>
        [.. Bunit.JSInterop.Invocations.Where(i => i.Identifier.EndsWith("focus", StringComparison.Ordinal)).Select(i => i.Arguments[0] is ElementReference element ? element.Id : null)];

    /// <summary>Live pools showing one open pool whose lock is answered at once; its row's selector.</summary>
    protected (IRenderedComponent<LivePools> Page, PoolSummary Pool, string Row) LivePoolsWithOneToLock()
    {
        var pool = LivePool("Who wins the round?");
        Gateway.Answer("/api/pools/admin/live", () => new[] { pool });
        Gateway.Answer($"/api/pools/{pool.Id}/lock", () => pool with { State = "Locked", BettingOpen = false });
        var page = Bunit.Render<LivePools>();
        var row = $"[data-pool-id='{pool.Id}']";
        page.WaitForAssertion(() => Button(page, row, "Lock"));
        return (page, pool, row);
    }

    protected static Account Streamer(string name) =>
        new(Guid.NewGuid(), $"{name.ToLowerInvariant()}@example.com", name, "streamer", 2, "BR", DateTimeOffset.UtcNow);

    /// <summary>The Accounts page showing the streamer, with an empty wallet and no bets.</summary>
    protected async Task<IRenderedComponent<Accounts>> StreamerOnAccountsAsync(Account streamer)
    {
        var page = await AccountOnAccountsAsync(streamer);
        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=channels]")));
        return page;
    }

    /// <summary>The Accounts page showing <paramref name="account"/>, with an empty wallet, no bets and no channels unless answered otherwise.</summary>
    protected async Task<IRenderedComponent<Accounts>> AccountOnAccountsAsync(Account account)
    {
        AnswerAccount(account);
        var page = Bunit.Render<Accounts>();
        await FindOnAccountsAsync(page, account.Email);
        page.WaitForAssertion(() => Assert.Equal(account.Role, page.Find("[data-testid=account]").GetAttribute("data-role")));
        return page;
    }

    /// <summary>Answers a search for <paramref name="account"/>: an empty wallet, no bets and no channels unless answered otherwise after.</summary>
    protected void AnswerAccount(Account account)
    {
        Gateway.Answer($"/api/users/admin/users?email={account.Email}", () => account);
        Gateway.Answer($"/api/users/admin/wallets/{account.Id}", () => new WalletBalance(account.Id, 0));
        Gateway.Answer($"/api/users/admin/wallets/{account.Id}/history", () => new WalletHistoryPage([], null));
        Gateway.Answer($"/api/bets/users/{account.Id}", () => new BetPage([], null));
        Gateway.Answer("/api/pools/admin/channels?ownerId=", Array.Empty<ChannelLink>);
    }

    /// <summary>Searches Accounts for <paramref name="email"/>: the task ends when the page has shown all it read (or dropped it).</summary>
    protected static Task FindOnAccountsAsync(IRenderedComponent<Accounts> page, string email)
    {
        page.Find("#email").Change(email);
        return page.Find("[data-testid=find-account]").SubmitAsync();
    }

    /// <summary>Settlements listing one failed settlement whose requeue is answered at once.</summary>
    protected void OneFailedSettlementToRequeue(Guid poolId)
    {
        var failed = Failed(poolId);
        Gateway.Answer("/api/settlements?limit=20&status=failed", () => new SettlementPage([failed], null));
        Gateway.Answer("/api/pools?ids=", Array.Empty<PoolSummary>);
        Gateway.Answer($"/api/settlements/{poolId}/requeue", () => failed with { Status = "due", Attempts = 0, LastError = null });
    }

    protected static Settlement Failed(Guid poolId) => new(poolId, "resolved", "failed", 5, "Ledger refused payment: escrow-account-missing",
        DateTimeOffset.UtcNow.AddMinutes(-5), null, 1_000, 400, null, null, null, null);

    private sealed class SignedIn(ClaimsPrincipal user) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(user));
    }

    /// <summary>HTTP clients of the console that all go to <paramref name="gateway"/>.</summary>
    protected sealed class Clients(HttpMessageHandler gateway) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(gateway, disposeHandler: false) { BaseAddress = new Uri("http://gateway") };
    }
}
