using System.Net;
using System.Text.Json;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// Changes an operator cannot easily undo ask first, as Live pools' Lock and Cancel do: the first button sends nothing
/// and opens a confirmation that names what will happen and to whom; confirming sends the change once, Cancel sends
/// nothing. Before, a template was deleted, a player's identity approved (tier 2, withdrawals allowed), a channel
/// unlinked and a streamer demoted (every session ended) on a single click, Delete right beside Edit. The keyboard goes
/// to the dismissing button of a change that destroys or cannot be undone, so a double or held Enter never confirms it
/// (before, it went to the confirming button); it goes back to the asking button only when the operator closed the
/// confirmation there, never to a row whose confirmation closed because another opened.
/// </summary>
public sealed class ConfirmationTests : ConsoleTest
{
    private const string Templates = "[data-testid=templates]";
    private const string Role = "[data-testid=account]";
    private const string Channel = "[data-testid=channel-link]";
    private const string LinkForm = "[data-testid=link-channel]";
    private const string Defaults = "[data-testid=pools-config]";
    private const string DefaultsForm = "[data-testid=pools-config] form";

    [Fact]
    public async Task Delete_asks_first_naming_the_template_and_deletes_it_once_confirmed()
    {
        var page = await PoolSettingsWithTemplateAsync();
        var row = "[data-template-id=next-map]";

        await ClickSendingNothingAsync(page, () => Button(page, row, "Delete"));

        var confirm = AssertAsked(page, row, "Delete template next-map");
        Assert.Contains("Delete template next-map (\"Who wins the next map?\")?", confirm.TextContent);
        Assert.DoesNotContain(page.FindAll($"{row} button"), b => b.TextContent == "Edit"); // not left beside it
        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.Contains("DELETE /api/pools/admin/templates/next-map?version=t1", Gateway.Requests);
        Assert.Empty(page.FindAll(row));
        Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task Cancel_keeps_the_template_sends_nothing_and_gives_the_keyboard_back_to_Delete()
    {
        var page = await PoolSettingsWithTemplateAsync();
        var row = "[data-template-id=next-map]";

        await ClickSendingNothingAsync(page, () => Button(page, row, "Delete"));
        await ClickSendingNothingAsync(page, () => Button(page, row, "Cancel"));

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Equal(Button(page, row, "Delete").GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.Single(page.FindAll(row));
    }

    [Fact]
    public async Task A_double_Enter_on_Delete_opens_its_confirmation_and_closes_it_deleting_nothing()
    {
        var page = await PoolSettingsWithTemplateAsync();
        var row = "[data-template-id=next-map]";

        await ClickSendingNothingAsync(page, () => Button(page, row, "Delete")); // the first Enter asks
        Assert.Equal(Dismissal(page, row).GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.Equal(["Delete template next-map", "Cancel"], page.FindAll($"{row} [data-testid=confirm] button").Select(b => b.TextContent));
        await ClickSendingNothingAsync(page, () => FocusedButton(page)); // the second lands where the keyboard is

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Single(page.FindAll(row));
        Assert.Equal(Button(page, row, "Delete").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task Opening_a_confirmation_above_an_open_one_leaves_the_keyboard_on_the_new_one()
    {
        var (upper, lower) = (LivePool("Who wins the round?"), LivePool("First blood?"));
        Gateway.Answer("/api/pools/admin/live", () => new[] { upper, lower });
        var page = Bunit.Render<LivePools>();
        var (upperRow, lowerRow) = ($"[data-pool-id='{upper.Id}']", $"[data-pool-id='{lower.Id}']");
        page.WaitForAssertion(() => Button(page, upperRow, "Lock"));
        await ClickSendingNothingAsync(page, () => Button(page, lowerRow, "Cancel"));
        var focusMoves = FocusMoves().Count;

        await ClickSendingNothingAsync(page, () => Button(page, upperRow, "Lock"));

        // The lower row's confirmation closed because this one opened: its Cancel does not take the keyboard back.
        Assert.Empty(page.FindAll($"{lowerRow} [data-testid=confirm]"));
        Assert.Equal([Dismissal(page, upperRow).GetAttribute("blazor:elementReference")], FocusMoves().Skip(focusMoves));
        await ClickSendingNothingAsync(page, () => FocusedButton(page)); // Enter keeps the upper pool, and reopens nothing below
        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Equal(Button(page, upperRow, "Lock").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task Approve_asks_first_naming_the_player_and_tier_2_and_sends_one_decision_once_confirmed()
    {
        var (page, review, row) = KycReviewsWithOneCheck();

        await ClickSendingNothingAsync(page, () => Button(page, row, "Approve"));

        var confirm = AssertAsked(page, row, "Approve Ana (ana@example.com)");
        Assert.Contains("Approve Ana's identity check (ana@example.com)?", confirm.TextContent);
        Assert.Contains("tier 2", confirm.TextContent);
        Assert.Contains("withdrawals", confirm.TextContent);
        Assert.DoesNotContain(page.FindAll($"{row} button"), b => b.TextContent == "Reject");
        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
        Assert.Contains($"POST /api/users/admin/kyc/reviews/{review.CheckId}/approve", Gateway.Requests);
        Assert.Equal("Approved", page.Find(row).GetAttribute("data-decision"));
        Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task Reject_asks_first_quoting_the_note_the_player_is_told_and_sends_one_decision_once_confirmed()
    {
        var (page, review, row) = KycReviewsWithOneCheck();
        page.Find($"{row} input").Change("The document photo is unreadable.");

        await ClickSendingNothingAsync(page, () => Button(page, row, "Reject"));

        var confirm = AssertAsked(page, row, "Reject Ana (ana@example.com)");
        Assert.Contains("Reject Ana's identity check (ana@example.com)? They are told: \"The document photo is unreadable.\"", confirm.TextContent);
        Assert.True(page.Find($"{row} input").HasAttribute("disabled"), "The note can change after the confirmation quoted it.");
        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
        Assert.Contains($"POST /api/users/admin/kyc/reviews/{review.CheckId}/reject", Gateway.Requests);
        Assert.Equal("The document photo is unreadable.", NoteSent($"POST /api/users/admin/kyc/reviews/{review.CheckId}/reject"));
        Assert.Equal("Rejected", page.Find(row).GetAttribute("data-decision"));
    }

    [Fact]
    public async Task Approve_with_a_note_says_the_note_is_kept_with_the_decision_not_that_the_player_is_told()
    {
        var (page, review, row) = KycReviewsWithOneCheck();
        page.Find($"{row} input").Change("Passport checked on a video call.");

        await ClickSendingNothingAsync(page, () => Button(page, row, "Approve"));

        // The player site shows a rejection's note only: an approval's is the operators' record.
        var confirm = AssertAsked(page, row, "Approve Ana (ana@example.com)");
        Assert.Contains("The note is kept with the decision: \"Passport checked on a video call.\"", confirm.TextContent);
        Assert.DoesNotContain("told", confirm.TextContent);
        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
        Assert.Equal("Passport checked on a video call.", NoteSent($"POST /api/users/admin/kyc/reviews/{review.CheckId}/approve"));
        Assert.Equal("Approved", page.Find(row).GetAttribute("data-decision"));
    }

    [Fact]
    public async Task Cancel_is_disabled_while_the_approval_is_on_its_way_and_a_click_on_it_closes_nothing()
    {
        var (page, review, row) = KycReviewsWithOneCheck();
        var approve = $"POST /api/users/admin/kyc/reviews/{review.CheckId}/approve";
        await ClickSendingNothingAsync(page, () => Button(page, row, "Approve"));

        var slowAnswer = Gateway.HoldNext($"/api/users/admin/kyc/reviews/{review.CheckId}/approve");
        var approving = page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
        await Gateway.WaitForRequestAsync(approve);

        // Sent is sent: a Cancel would close the confirmation on a change that goes through all the same.
        Assert.True(Dismissal(page, row).HasAttribute("disabled"), "Cancel is enabled while the approval is on its way.");
        await page.InvokeAsync(() => Dismissal(page, row).ClickAsync(new())); // a click the browser sent before it showed Cancel disabled
        Assert.Single(page.FindAll($"{row} [data-testid=confirm]"));
        slowAnswer.SetResult();
        await approving;
        Assert.Single(Gateway.Requests, r => r == approve);
        Assert.Equal("Approved", page.Find(row).GetAttribute("data-decision"));
        Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task Reject_without_a_note_asks_for_the_reason_and_sends_nothing()
    {
        var (page, _, row) = KycReviewsWithOneCheck();

        await ClickSendingNothingAsync(page, () => Button(page, row, "Reject"));

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Contains("Say why the check is rejected", page.Find("[data-testid=problem]").TextContent);
    }

    [Fact]
    public async Task Cancel_leaves_the_check_undecided_and_sends_nothing()
    {
        var (page, _, row) = KycReviewsWithOneCheck();

        await ClickSendingNothingAsync(page, () => Button(page, row, "Approve"));
        await ClickSendingNothingAsync(page, () => Button(page, row, "Cancel"));

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Null(page.Find(row).GetAttribute("data-decision"));
        Assert.Equal(Button(page, row, "Approve").GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.Equal(2, page.FindAll($"{row} button").Count);
    }

    [Fact]
    public async Task Unlink_asks_first_naming_the_channel_and_its_streamer_and_unlinks_once_confirmed()
    {
        var (page, streamer) = await StreamerWithOneChannelAsync();

        await ClickSendingNothingAsync(page, () => Button(page, Channel, "Unlink"));

        var confirm = AssertAsked(page, Channel, "Unlink twitch:foo from Ana");
        Assert.Contains("Unlink twitch:foo from Ana (ana@example.com)?", confirm.TextContent);
        await page.InvokeAsync(() => Confirmation(page, Channel).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.Contains($"DELETE /api/pools/admin/channels/twitch/foo?ownerId={streamer.Id}", Gateway.Requests);
        Assert.Empty(page.FindAll(Channel));
        Assert.Equal(page.Find("[data-testid=message]").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task Cancel_keeps_the_channel_linked_and_sends_nothing()
    {
        var (page, _) = await StreamerWithOneChannelAsync();

        await ClickSendingNothingAsync(page, () => Button(page, Channel, "Unlink"));
        await ClickSendingNothingAsync(page, () => Button(page, Channel, "Cancel"));

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Single(page.FindAll(Channel));
        Assert.Equal(Button(page, Channel, "Unlink").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    [Fact]
    public async Task Link_asks_first_naming_the_channel_and_the_streamer_and_when_its_owner_cannot_be_read_says_so()
    {
        // A typo linked another streamer's channel on one click, moving its live pools to the wrong streamer to resolve.
        var streamer = Streamer("Ana");
        Gateway.Refuse("GET /api/pools/admin/channels/twitch/foo", HttpStatusCode.ServiceUnavailable);
        Gateway.Answer("PUT /api/pools/admin/channels/twitch/foo", () => new ChannelLink(new PoolChannel("twitch", "foo"), streamer.Id, AdminId, DateTimeOffset.UtcNow));
        var page = await StreamerOnAccountsAsync(streamer);
        page.Find("#channel-id").Change(" foo ");

        await page.InvokeAsync(() => page.Find(LinkForm).SubmitAsync());

        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
        var confirm = AssertAsked(page, LinkForm, "Link twitch:foo to Ana");
        Assert.Contains("Link twitch:foo to Ana (ana@example.com)?", confirm.TextContent);
        // The operator is told the owner is not known, never that the channel is free.
        Assert.Contains("whether another streamer has it linked could not be read", confirm.TextContent);
        Assert.Contains("its open pools become theirs to lock, resolve or cancel", confirm.TextContent);
        Assert.True(page.Find("#channel-id").HasAttribute("disabled"), "The channel can change after the confirmation named it.");
        await page.InvokeAsync(() => Confirmation(page, LinkForm).ClickAsync(new()));
        Assert.Equal(["PUT /api/pools/admin/channels/twitch/foo"], Gateway.Requests.Where(r => r.StartsWith("PUT", StringComparison.Ordinal)));
        Assert.Contains("twitch:foo is linked to Ana", page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=confirm]"));
    }

    [Fact]
    public async Task Cancel_links_nothing_and_gives_the_keyboard_back_to_Link_channel()
    {
        var page = await StreamerOnAccountsAsync(Streamer("Ana"));
        page.Find("#channel-id").Change("foo");
        await page.InvokeAsync(() => page.Find(LinkForm).SubmitAsync());

        await ClickSendingNothingAsync(page, () => Dismissal(page, LinkForm));

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Equal(Button(page, LinkForm, "Link channel").GetAttribute("blazor:elementReference"), FocusedLast());
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Save_defaults_with_a_new_rake_asks_first_naming_the_old_and_new_rake_and_saves_once_confirmed()
    {
        // A typo of 5000 for 500 set a 50% rake on every new pool on one click.
        var page = await PoolSettingsWithTemplateAsync();
        Gateway.Answer("PUT /api/pools/admin/config", () => new PoolsSettings(5000, 100, 100_000, true, 24, "v2"));
        page.Find("#rake").Change("5000");
        var before = Gateway.Requests;

        await page.InvokeAsync(() => page.Find(DefaultsForm).SubmitAsync());

        Assert.Equal(before, Gateway.Requests);
        var confirm = AssertAsked(page, Defaults, "Save defaults: House rake 5% → 50%");
        Assert.Contains("Every pool created from now on takes them", confirm.TextContent);
        Assert.True(page.Find("#rake").HasAttribute("disabled"), "The rake can change after the confirmation named it.");
        await page.InvokeAsync(() => Confirmation(page, Defaults).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r == "PUT /api/pools/admin/config");
        using var body = JsonDocument.Parse(Gateway.BodyOf("PUT /api/pools/admin/config")!);
        Assert.Equal(5000, body.RootElement.GetProperty("defaultRakeBasisPoints").GetInt32());
        Assert.Contains("Defaults saved", page.Find("[data-testid=message]").TextContent);
        Assert.Equal("5000", page.Find("#rake").GetAttribute("max")); // Pools' cap (PoolDefinition.MaxRakeBasisPoints), not 10000
    }

    [Fact]
    public async Task Save_defaults_names_each_stake_limit_it_changes_and_saves_nothing_when_cancelled()
    {
        var page = await PoolSettingsWithTemplateAsync();
        page.Find("#min-stake").Change("2");
        page.Find("#max-stake").Change("500");
        await page.InvokeAsync(() => page.Find(DefaultsForm).SubmitAsync());

        Assert.Equal("Save defaults: Minimum stake R$1.00 → R$2.00; Maximum stake R$1,000.00 → R$500.00", Confirmation(page, Defaults).TextContent);
        await ClickSendingNothingAsync(page, () => Dismissal(page, Defaults));
        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.DoesNotContain(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Demoting_a_streamer_asks_first_saying_their_sessions_end_now_and_changes_the_role_once_confirmed()
    {
        var (page, streamer) = await StreamerWithOneChannelAsync();
        Gateway.Answer($"PUT /api/users/admin/users/{streamer.Id}/role", () => streamer with { Role = "player" });
        page.Find("#role").Change("player");

        await ClickSendingNothingAsync(page, () => Button(page, Role, "Change role"));

        var confirm = AssertAsked(page, Role, "Change Ana's role: streamer → player");
        Assert.Contains("Change Ana's role (ana@example.com) from streamer to player? Their sessions end now", confirm.TextContent);
        Assert.True(page.Find("#role").HasAttribute("disabled"), "The role can change after the confirmation named it.");
        await page.InvokeAsync(() => Confirmation(page, Role).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
        Assert.Contains($"PUT /api/users/admin/users/{streamer.Id}/role", Gateway.Requests);
        Assert.Equal("player", page.Find("[data-testid=account]").GetAttribute("data-role"));
        Assert.Contains("Their sessions have ended", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task Demoting_a_streamer_with_a_linked_channel_says_it_is_unlinked_and_lists_it_with_Unlink_while_it_is_still_linked()
    {
        // Pools unlinks a demoted account's channels when the role change reaches it: the operator learns it before
        // confirming, and a channel still linked (the event on its way) stays listed with Unlink.
        var (page, streamer) = await StreamerWithOneChannelAsync();
        Gateway.Answer($"PUT /api/users/admin/users/{streamer.Id}/role", () => streamer with { Role = "player" });
        page.Find("#role").Change("player");

        await ClickSendingNothingAsync(page, () => Button(page, Role, "Change role"));

        Assert.Contains("Their linked channels (twitch:foo) are unlinked from them within seconds", page.Find($"{Role} [data-testid=confirm]").TextContent);
        await page.InvokeAsync(() => Confirmation(page, Role).ClickAsync(new()));
        Assert.Equal("player", page.Find("[data-testid=account]").GetAttribute("data-role"));
        Assert.Contains("twitch:foo", page.Find(Channel).TextContent);
        Assert.Empty(page.FindAll("[data-testid=link-channel]")); // linking stays a streamer's
        await page.InvokeAsync(() => Button(page, Channel, "Unlink").ClickAsync(new()));
        await page.InvokeAsync(() => Confirmation(page, Channel).ClickAsync(new()));
        Assert.Contains($"DELETE /api/pools/admin/channels/twitch/foo?ownerId={streamer.Id}", Gateway.Requests);
    }

    [Fact]
    public async Task Making_a_player_a_streamer_asks_first_without_ending_their_sessions()
    {
        var player = Person("Bia", "player");
        var page = await AccountOnAccountsAsync(player);
        Gateway.Answer($"PUT /api/users/admin/users/{player.Id}/role", () => player with { Role = "streamer" });
        page.Find("#role").Change("streamer");

        await ClickSendingNothingAsync(page, () => Button(page, Role, "Change role"));

        var confirm = AssertAsked(page, Role, "Change Bia's role: player → streamer", undoable: true);
        Assert.DoesNotContain("sessions end", confirm.TextContent);
        Assert.Contains("next token refresh", confirm.TextContent);
        await page.InvokeAsync(() => Confirmation(page, Role).ClickAsync(new()));
        Assert.Single(Gateway.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
        Assert.Equal("streamer", page.Find("[data-testid=account]").GetAttribute("data-role"));
    }

    [Fact]
    public async Task Cancel_keeps_the_role_and_sends_nothing()
    {
        var (page, _) = await StreamerWithOneChannelAsync();
        page.Find("#role").Change("player");

        await ClickSendingNothingAsync(page, () => Button(page, Role, "Change role"));
        await ClickSendingNothingAsync(page, () => Button(page, Role, "Cancel"));

        Assert.Empty(page.FindAll("[data-testid=confirm]"));
        Assert.Equal("streamer", page.Find("[data-testid=account]").GetAttribute("data-role"));
        Assert.Equal(Button(page, Role, "Change role").GetAttribute("blazor:elementReference"), FocusedLast());
    }

    /// <summary>
    /// Clicks a button that only opens or closes a confirmation: the gateway hears nothing. Found and clicked on the
    /// renderer, so no render in between retires its handler.
    /// </summary>
    private async Task ClickSendingNothingAsync<TPage>(IRenderedComponent<TPage> page, Func<AngleSharp.Dom.IElement> button)
        where TPage : Microsoft.AspNetCore.Components.IComponent
    {
        var before = Gateway.Requests;
        await page.InvokeAsync(() => button().ClickAsync(new()));
        Assert.Equal(before, Gateway.Requests);
    }

    /// <summary>
    /// The confirmation open in <paramref name="around"/>: announced, and its confirming button named. Its dismissing
    /// button holds the keyboard, so a double or held Enter closes it; only a change as easily undone as made
    /// (<paramref name="undoable"/>: granting a role) opens on its confirming button.
    /// </summary>
    private AngleSharp.Dom.IElement AssertAsked<TPage>(IRenderedComponent<TPage> page, string around, string confirming, bool undoable = false)
        where TPage : Microsoft.AspNetCore.Components.IComponent
    {
        var confirm = page.Find($"{around} [data-testid=confirm]");
        Assert.Equal("alertdialog", confirm.GetAttribute("role"));
        Assert.Equal(confirming, Confirmation(page, around).TextContent);
        var holdingTheKeyboard = undoable ? Confirmation(page, around) : Dismissal(page, around);
        Assert.Equal(holdingTheKeyboard.GetAttribute("blazor:elementReference"), FocusedLast());
        return confirm;
    }

    /// <summary>The note a KYC decision sent.</summary>
    private string? NoteSent(string request) => JsonDocument.Parse(Gateway.BodyOf(request)!).RootElement.GetProperty("note").GetString();

    /// <summary>Pool settings listing the template next-map, its deletion answered at once.</summary>
    private async Task<IRenderedComponent<PoolSettings>> PoolSettingsWithTemplateAsync()
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        Gateway.Answer("/api/pools/admin/templates", () => new[] { new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 90, null, null, "t1") });
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        Gateway.Answer("DELETE /api/pools/admin/templates/next-map", () => true);
        var page = Bunit.Render<PoolSettings>();
        await Gateway.WaitForRequestAsync("GET /api/pools/admin/changes");
        page.WaitForAssertion(() => Assert.Single(page.FindAll($"{Templates} [data-template-id=next-map]")));
        return page;
    }

    /// <summary>KYC review listing Ana's check, its decisions answered at once.</summary>
    private (IRenderedComponent<KycReviews> Page, KycReview Review, string Row) KycReviewsWithOneCheck()
    {
        var review = new KycReview(Guid.NewGuid(), Guid.NewGuid(), "Ana", "ana@example.com", "BR", "sandbox", "consider", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        Gateway.Answer("/api/users/admin/kyc/reviews", () => new KycReviewPage([review], null));
        foreach (var (decision, status) in new[] { ("approve", "approved"), ("reject", "rejected") })
        {
            Gateway.Answer($"/api/users/admin/kyc/reviews/{review.CheckId}/{decision}",
                () => new KycCheck(review.CheckId, "sandbox", "p-1", status, "consider", review.CreatedAt, DateTimeOffset.UtcNow));
        }
        var page = Bunit.Render<KycReviews>();
        var row = $"[data-check-id='{review.CheckId}']";
        page.WaitForAssertion(() => Button(page, row, "Approve"));
        return (page, review, row);
    }

    /// <summary>Accounts showing the streamer Ana with the channel twitch:foo, its unlink answered at once.</summary>
    private async Task<(IRenderedComponent<Accounts> Page, Account Streamer)> StreamerWithOneChannelAsync()
    {
        var streamer = Person("Ana", "streamer");
        Gateway.Answer($"/api/pools/admin/channels?ownerId={streamer.Id}",
            () => new[] { new ChannelLink(new PoolChannel("twitch", "foo"), streamer.Id, Guid.NewGuid(), DateTimeOffset.UtcNow) });
        Gateway.Answer("DELETE /api/pools/admin/channels/twitch/foo", () => true);
        var page = await AccountOnAccountsAsync(streamer);
        page.WaitForAssertion(() => Assert.Single(page.FindAll(Channel)));
        return (page, streamer);
    }

    private static Account Person(string name, string role) =>
        new(Guid.NewGuid(), $"{name.ToLowerInvariant()}@example.com", name, role, 1, "BR", DateTimeOffset.UtcNow);

}
