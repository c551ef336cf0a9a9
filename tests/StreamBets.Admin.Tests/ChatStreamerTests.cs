using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// Realtime's admin-only SetChannelStreamer and ClearChannelStreamer had no place in the console: taking a chat from a
/// demoted streamer still named its streamer took a hand-written SignalR client. Accounts' Chat streamer card calls
/// them, as the operator, over a real hub connection (<see cref="LiveHubStub"/>).
/// </summary>
public sealed class ChatStreamerTests : ConsoleTest
{
    private const string Card = "[data-testid=chat-streamer]";
    private LiveHubStub _hub = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _hub = await LiveHubStub.StartAsync();
        LiveHubAt(_hub.GatewayUri);
    }

    public override async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task Clear_asks_first_naming_the_channel_then_clears_its_chat_streamer_as_the_operator()
    {
        var page = await AccountOnAccountsAsync(Player("Bia"));
        TypeChannel(page, "kick", " bia ");

        await page.InvokeAsync(() => Button(page, Card, "Clear chat streamer").ClickAsync(new()));

        var confirm = page.Find($"{Card} [data-testid=confirm]");
        Assert.Contains("Leave kick:bia's chat with no streamer?", confirm.TextContent);
        Assert.Equal("Clear the streamer of kick:bia's chat", Confirmation(page, Card).TextContent);
        Assert.Empty(_hub.Calls);
        Assert.True(page.Find("#chat-channel-id").HasAttribute("disabled"), "The channel can change after the confirmation named it.");
        await page.InvokeAsync(() => Confirmation(page, Card).ClickAsync(new()));

        var call = Assert.Single(_hub.Calls);
        Assert.Equal("ClearChannelStreamer", call.Method);
        Assert.Equal(["kick:bia"], call.Arguments);
        Assert.Equal("Bearer admin-token", call.Authorization);
        Assert.Contains("kick:bia's chat has no streamer now", page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));
        Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.Empty(page.FindAll($"{Card} [data-testid=confirm]"));
        Assert.True(Button(page, Card, "Clear chat streamer").HasAttribute("disabled"), "The channel cleared is still typed in.");
    }

    [Fact]
    public async Task Name_makes_the_streamer_shown_the_streamer_of_the_typed_channels_chat()
    {
        var streamer = Streamer("Ana");
        var page = await StreamerOnAccountsAsync(streamer);
        Assert.Contains("only admins moderate it until someone is named. Name Ana to give them the chat now;", page.Find(Card).TextContent);
        TypeChannel(page, "twitch", "foo");

        await page.InvokeAsync(() => Button(page, Card, "Name chat streamer").ClickAsync(new()));
        Assert.Contains("Name Ana (ana@example.com) the streamer of twitch:foo's chat?", page.Find($"{Card} [data-testid=confirm]").TextContent);
        Assert.Empty(_hub.Calls);
        await page.InvokeAsync(() => Confirmation(page, Card).ClickAsync(new()));

        var call = Assert.Single(_hub.Calls);
        Assert.Equal("SetChannelStreamer", call.Method);
        Assert.Equal(["twitch:foo", streamer.Id.ToString()], call.Arguments);
        Assert.Equal("Bearer admin-token", call.Authorization);
        Assert.Contains("Ana is the streamer of twitch:foo's chat now", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task A_refusal_from_the_hub_is_shown_in_the_consoles_words_with_its_code()
    {
        // The console admits admins only, but a token can lose the role (a demotion) before the console notices.
        _hub.Refusal = "admin-only: Only an admin can clear a channel's streamer.";
        var page = await AccountOnAccountsAsync(Player("Bia"));
        TypeChannel(page, "twitch", "foo");

        await ConfirmAsync(page, Card, "Clear chat streamer");

        Assert.Single(_hub.Calls);
        var problem = page.Find("[data-testid=problem]");
        Assert.Equal("admin-only", problem.GetAttribute("data-code"));
        Assert.Contains("only an admin can name or clear a chat's streamer. Nothing was changed. (admin-only)", problem.TextContent);
        Assert.Empty(page.FindAll("[data-testid=message]"));
        Assert.Empty(page.FindAll($"{Card} [data-testid=confirm]"));
    }

    [Fact]
    public async Task A_hub_that_cannot_be_reached_is_said_to_have_changed_nothing()
    {
        LiveHubAt(new Uri("http://127.0.0.1:1"));
        var page = await AccountOnAccountsAsync(Player("Bia"));
        TypeChannel(page, "twitch", "foo");

        await ConfirmAsync(page, Card, "Clear chat streamer");

        Assert.Empty(_hub.Calls);
        var problem = page.Find("[data-testid=problem]");
        Assert.Equal("dependency-unavailable", problem.GetAttribute("data-code"));
        Assert.Contains("Nothing was changed", problem.TextContent);
    }

    [Fact]
    public async Task A_player_can_have_a_chat_cleared_but_is_not_offered_as_its_streamer_and_nothing_is_asked_without_a_channel()
    {
        var page = await AccountOnAccountsAsync(Player("Bia"));

        Assert.DoesNotContain("Name Bia", page.Find(Card).TextContent);
        Assert.DoesNotContain(page.FindAll($"{Card} button"), b => b.TextContent.StartsWith("Name", StringComparison.Ordinal));
        Assert.True(Button(page, Card, "Clear chat streamer").HasAttribute("disabled"), "Clear is offered with no channel typed.");
        await page.InvokeAsync(() => Button(page, Card, "Clear chat streamer").ClickAsync(new()));
        Assert.Empty(page.FindAll($"{Card} [data-testid=confirm]"));
    }

    [Fact]
    public async Task Cancel_sends_nothing_to_the_hub()
    {
        var page = await StreamerOnAccountsAsync(Streamer("Ana"));
        TypeChannel(page, "twitch", "foo");

        await page.InvokeAsync(() => Button(page, Card, "Name chat streamer").ClickAsync(new()));
        await page.InvokeAsync(() => Dismissal(page, Card).ClickAsync(new()));

        Assert.Empty(page.FindAll($"{Card} [data-testid=confirm]"));
        Assert.Empty(_hub.Calls);
        Assert.Empty(page.FindAll("[data-testid=message]"));
    }

    [Fact]
    public async Task Name_opens_on_Cancel_as_a_change_not_easily_undone()
    {
        var page = await StreamerOnAccountsAsync(Streamer("Ana"));
        TypeChannel(page, "twitch", "foo");

        await page.InvokeAsync(() => Button(page, Card, "Name chat streamer").ClickAsync(new()));

        // Naming takes the chat from whoever held it and removes their moderators: an Enter pressed at once cancels.
        page.WaitForAssertion(() => Assert.Equal(Dismissal(page, Card).GetAttribute("blazor:elementReference"), FocusedLast()));
        Assert.Equal("Cancel", Dismissal(page, Card).TextContent);
        Assert.Empty(_hub.Calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_hub_gone_silent_is_given_up_on_at_the_time_limit_saying_whether_the_change_may_have_been_made(bool afterTheCall)
    {
        // Long enough for the connection and the call to be made on a loaded box (the limit covers both: at 500 ms the
        // call was sometimes never sent), short beside the wait below.
        LiveHubAt(_hub.GatewayUri, timeLimit: TimeSpan.FromSeconds(3));
        _hub.ConnectsSilently = !afterTheCall;
        _hub.AnswersNoCalls = afterTheCall;
        var page = await AccountOnAccountsAsync(Player("Bia"));
        TypeChannel(page, "twitch", "foo");

        // Without a limit the action waits for as long as the network stays silent, the card's buttons disabled.
        await ConfirmAsync(page, Card, "Clear chat streamer").WaitAsync(TimeSpan.FromSeconds(10));

        var problem = page.Find("[data-testid=problem]");
        Assert.Equal("dependency-unavailable", problem.GetAttribute("data-code"));
        if (afterTheCall)
        {
            Assert.Single(_hub.Calls);
            Assert.Contains("may or may not have been made", problem.TextContent);
        }
        else
        {
            Assert.Empty(_hub.Calls);
            Assert.Contains("Nothing was changed", problem.TextContent);
        }
        Assert.Empty(page.FindAll("[data-testid=message]"));
        Assert.Empty(page.FindAll($"{Card} [data-testid=confirm]"));
    }

    [Fact]
    public async Task A_fresh_token_the_hub_refuses_again_is_answered_as_a_session_ended()
    {
        _hub.RefusesTokens = true;
        Gateway.Answer("/api/users/token/refresh", RefreshAnswers.ForAdmin);
        var page = await AccountOnAccountsAsync(Player("Bia"));
        TypeChannel(page, "twitch", "foo");

        await ConfirmAsync(page, Card, "Clear chat streamer");

        // Refused, refreshed, refused again: the hub took nothing, and the session cannot act on it.
        Assert.Equal(2, _hub.Connections.Count);
        Assert.Equal("Bearer admin-token", _hub.Connections.First());
        Assert.NotEqual("Bearer admin-token", _hub.Connections.Last());
        Assert.Empty(_hub.Calls);
        var problem = page.Find("[data-testid=problem]");
        Assert.Equal("signed-out", problem.GetAttribute("data-code"));
        Assert.Contains("Your session ended. Sign in again.", problem.TextContent);
    }

    private static Account Player(string name) =>
        new(Guid.NewGuid(), $"{name.ToLowerInvariant()}@example.com", name, "player", 1, "BR", DateTimeOffset.UtcNow);

    private static void TypeChannel(IRenderedComponent<Accounts> page, string provider, string channelId)
    {
        page.Find("#chat-provider").Change(provider);
        page.Find("#chat-channel-id").Input(channelId);
    }
}
