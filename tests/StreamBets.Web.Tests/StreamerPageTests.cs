using System.Globalization;
using System.Text.Json;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd.Gateway;
using StreamBets.Testing;
using StreamBets.Web.Components.Pages;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The streamer's page: each click sends once, a late one (sent before the browser had the render answering the first)
/// included, a failed read is shown as one and goes with the next good read, and a pool's refusal stands only while the
/// pool is as it was when the action was sent.
/// </summary>
public sealed class StreamerPageTests : PlayerPageTest
{
    private const string LivePath = "/api/pools/live";
    private static readonly PoolChannel First = new("twitch", "streamer1"), Second = new("kick", "streamer1");

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bunit.AddAuthorization().SetAuthorized("Ana").SetRoles("streamer");
        Gateway.Answer("/api/pools/channels/mine", new[] { new ChannelLink(First), new ChannelLink(Second) });
        Gateway.Answer("/api/pools/finished", Array.Empty<Pool>());
    }

    [Fact]
    public async Task A_double_click_on_open_pool_opens_one_pool()
    {
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=create-pool]");
        Gateway.Answer("/api/pools", OpenPool(First));
        var release = Gateway.Hold("/api/pools");

        // The second click arrives while the first one's POST is held at the gateway.
        var first = page.FindAndSubmitAsync("[data-testid=create-pool]");
        Assert.True(await ChangesSentAsync(1), "The first click sent nothing.");
        var second = page.FindAndSubmitAsync("[data-testid=create-pool]");
        release();
        await Task.WhenAll(first, second);

        Assert.Equal(["POST /api/pools"], Gateway.Changes);
    }

    [Fact]
    public async Task A_double_click_on_lock_now_sends_one_lock()
    {
        var pool = OpenPool(First);
        Gateway.Answer(LivePath, new[] { pool });
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=lock-pool]");
        Gateway.Answer($"/api/pools/{pool.Id}/lock", pool with { State = "locked", BettingOpen = false });
        var release = Gateway.Hold($"/api/pools/{pool.Id}/lock");

        var first = page.FindAndClickAsync("[data-testid=lock-pool]");
        Assert.True(await ChangesSentAsync(1), "The first click sent nothing.");
        var second = page.FindAndClickAsync("[data-testid=lock-pool]");
        release();
        await Task.WhenAll(first, second);

        Assert.Equal([$"POST /api/pools/{pool.Id}/lock"], Gateway.Changes);
    }

    /// <summary>
    /// Before, the late click sent the action again: Pools refused it (409), and with the read after the action failed (the
    /// pool still shown as it was) "That is not possible in the pool's current state." stood under the lock, resolve or cancel just made.
    /// </summary>
    [Theory]
    [InlineData("lock", "open", "locked", "pool-not-open")]
    [InlineData("resolve", "locked", "resolved", "invalid-transition")]
    [InlineData("cancel", "locked", "cancelled", "invalid-transition")]
    public async Task A_late_click_on_an_action_made_sends_nothing_though_the_read_after_it_failed(string action, string from, string to, string refusal)
    {
        var pool = OpenPool(First) with { State = from, BettingOpen = from == "open" };
        var sent = $"/api/pools/{pool.Id}/{action}";
        Gateway.Answer(LivePath, new[] { pool });
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=streamer-pool]");
        Gateway.Answer(sent, pool with { State = to, BettingOpen = false });
        if (action == "resolve")
        {
            await page.InvokeAsync(() => page.Find($"#win-{pool.Outcomes[0].Id:N}").Change(true));
            await page.FindAndClickAsync("[data-testid=resolve-pool]");
        }
        else if (action == "cancel")
        {
            await page.FindAndClickAsync("[data-testid=cancel-pool]");
        }
        var button = action switch { "lock" => "[data-testid=lock-pool]", "resolve" => "[data-testid=resolve-yes]", _ => "[data-testid=cancel-yes]" };
        var lateClick = await page.InvokeAsync(() => Bunit.KeepClick(page, button));
        Gateway.Refuse(LivePath, 503, ApiProblem.Unavailable);

        await page.FindAndClickAsync(button);
        Assert.Equal(from, page.Find("[data-testid=streamer-pool]").GetAttribute("data-state")); // as the failed read left it
        Gateway.Refuse(sent, 409, refusal); // Pools' answer to the action sent again
        await lateClick();

        Assert.Empty(page.FindAll("[data-testid=streamer-pool] [data-testid=problem]"));
        Assert.Equal([$"POST {sent}"], Gateway.Changes);
    }

    /// <summary>
    /// Before, the late click opened the template's pool a second time on a channel that may have more than one (or,
    /// where it may not, showed Pools' 409 under the templates though the pool was opened).
    /// </summary>
    [Fact]
    public async Task A_late_click_on_a_template_opens_no_second_pool_and_a_click_on_the_page_as_it_is_does()
    {
        Gateway.Answer("/api/pools/templates", new[] { new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 120, null, null) });
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=open-template]");
        Gateway.Answer("/api/pools", OpenPool(First));
        var lateClick = await page.InvokeAsync(() => Bunit.KeepClick(page, "[data-testid=open-template]"));

        await page.FindAndClickAsync("[data-testid=open-template]");
        await lateClick();

        Assert.Equal(["POST /api/pools"], Gateway.Changes);
        await page.FindAndClickAsync("[data-testid=open-template]"); // another pool, on purpose
        Assert.Equal(["POST /api/pools", "POST /api/pools"], Gateway.Changes);
    }

    /// <summary>Before, the late submit sent the form the create had emptied, and Pools' 400 stood under the pool it opened.</summary>
    [Fact]
    public async Task A_late_submit_of_the_create_form_sends_nothing_and_leaves_no_problem_under_the_pool_opened()
    {
        var page = await CreateFormAsync();
        Gateway.Answer("/api/pools", OpenPool(First));
        await page.FindAndTypeAsync("#pool-title", "Who wins?");
        await page.FindAndTypeAsync("#outcome-0", "Yes");
        await page.FindAndTypeAsync("#outcome-1", "No");
        var lateSubmit = await page.InvokeAsync(() => Bunit.KeepSubmit(page, "[data-testid=create-pool]"));

        await page.FindAndSubmitAsync("[data-testid=create-pool]");
        Assert.Equal("", page.Find("#pool-title").GetAttribute("value"));
        Gateway.Refuse("/api/pools", 400, "invalid-pool", new Dictionary<string, string[]> { ["title"] = ["The title must not be empty."] });
        await lateSubmit();

        Assert.Empty(page.FindAll("[data-testid=create-pool] [data-testid=problem]"));
        Assert.Equal(["POST /api/pools"], Gateway.Changes);
    }

    [Fact]
    public void A_failed_read_shows_as_a_read_failure_not_under_create_and_goes_with_the_next_good_read()
    {
        Gateway.Refuse(LivePath, 503, ApiProblem.Unavailable);
        var page = Bunit.Render<Streamer>();
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=problem]")));
        Assert.Empty(page.FindAll("[data-testid=create-pool] [data-testid=problem]"));

        // The offline poll reads again, and this time the channel answers.
        Gateway.Answer(LivePath, new[] { OpenPool(First) });
        Clock.Advance(TimeSpan.FromSeconds(5));

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=streamer-pool]")));
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    [Fact]
    public async Task Switching_to_a_channel_whose_read_fails_lists_none_of_the_previous_channels_pools()
    {
        Gateway.Answer(LivePath, new[] { OpenPool(First) });
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=streamer-pool]");

        Gateway.Refuse(LivePath, 503, ApiProblem.Unavailable);
        await page.InvokeAsync(() => page.FindAll("[data-testid=my-channels] button").Single(b => b.TextContent == Second.ToString()).ClickAsync(new()));

        Assert.Empty(page.FindAll("[data-testid=streamer-pool]"));
        Assert.Equal(ApiProblem.Unavailable, page.Find("[data-testid=problem]").GetAttribute("data-code"));
    }

    [Fact]
    public async Task A_lock_whose_answer_was_lost_says_so_only_until_a_read_shows_the_pool_locked()
    {
        var pool = OpenPool(First);
        Gateway.Answer(LivePath, new[] { pool });
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=lock-pool]");
        Gateway.Refuse($"/api/pools/{pool.Id}/lock", 503, ApiProblem.Unavailable);

        // Still open on the read after it: the lock may or may not have been made.
        await page.FindAndClickAsync("[data-testid=lock-pool]");
        Assert.Equal(ApiProblem.Unavailable, page.Find("[data-testid=streamer-pool] [data-testid=problem]").GetAttribute("data-code"));

        // It was made: the next read shows the pool locked.
        Gateway.Answer(LivePath, new[] { pool with { State = "locked", BettingOpen = false } });
        Clock.Advance(TimeSpan.FromSeconds(5));

        page.WaitForElement("[data-testid=resolve-pool]");
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    [Fact]
    public async Task A_resolve_names_its_winners_once_more_and_pays_only_those_named_when_confirmed()
    {
        var pool = OpenPool(First) with { State = "locked", BettingOpen = false };
        var (yes, no) = (pool.Outcomes[0], pool.Outcomes[1]);
        Gateway.Answer(LivePath, new[] { pool });
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=resolve-pool]");
        Gateway.Answer($"/api/pools/{pool.Id}/resolve", pool with { State = "resolved", WinningOutcomeIds = [yes.Id] });
        // Found and clicked on the renderer's own thread: the page re-renders as it likes (a poll), and a button found
        // before a render may have lost its handler by the click.
        await page.InvokeAsync(() => page.Find($"#win-{yes.Id:N}").Change(true));

        await page.InvokeAsync(() => page.Find("[data-testid=resolve-pool]").ClickAsync(new()));

        Assert.Empty(Gateway.Changes); // nothing paid on the first click
        Assert.Contains("Yes", page.Find("[data-testid=resolve-confirm]").TextContent);
        Assert.True(page.Find($"#win-{no.Id:N}").HasAttribute("disabled")); // the winners named cannot change under the confirmation
        await page.InvokeAsync(() => page.Find("[data-testid=resolve-yes]").ClickAsync(new()));
        Assert.Equal([$"POST /api/pools/{pool.Id}/resolve"], Gateway.Changes);
        Assert.Equal([yes.Id.ToString()], Gateway.LastBody($"/api/pools/{pool.Id}/resolve")!.Value.GetProperty("winningOutcomeIds").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task A_question_and_label_of_emoji_within_Pools_limits_can_be_typed_in_full_and_open_the_pool()
    {
        // Pools counts code points: 30 emoji are 30 of the question's 45, though 60 UTF-16 units; 20 are 20 of a label's 25.
        var question = string.Concat(Enumerable.Repeat("🎮", 30));
        var label = string.Concat(Enumerable.Repeat("🔥", 20));
        var page = await CreateFormAsync();
        Gateway.Answer("/api/pools", OpenPool(First));

        await page.FindAndTypeAsync("#pool-title", question);
        await page.FindAndTypeAsync("#outcome-0", label);
        await page.FindAndTypeAsync("#outcome-1", "No");
        Assert.Empty(page.FindAll("[data-testid=field-error]"));
        await page.FindAndSubmitAsync("[data-testid=create-pool]");

        Assert.Equal(["POST /api/pools"], Gateway.Changes);
        var sent = Gateway.LastBody("/api/pools")!.Value;
        Assert.Equal(question, sent.GetProperty("title").GetString());
        Assert.Equal([label, "No"], sent.GetProperty("outcomes").EnumerateArray().Select(o => o.GetString()));
        Assert.Empty(page.FindAll("[data-testid=create-pool] [data-testid=problem]"));
    }

    [Fact]
    public async Task A_question_or_label_over_Pools_limits_says_which_by_its_field_and_nothing_is_sent()
    {
        CultureInfo.CurrentUICulture = new CultureInfo("en"); // flows into this test's awaits only, and the page's handlers it runs
        var page = await CreateFormAsync();
        Gateway.Answer("/api/pools", OpenPool(First));

        await page.FindAndTypeAsync("#pool-title", string.Concat(Enumerable.Repeat("🎮", 46)));
        // A flag is two code points to Pools (as to PostgreSQL): 13 are 26, over a label's 25.
        await page.FindAndTypeAsync("#outcome-0", string.Concat(Enumerable.Repeat("🇧🇷", 13)));
        await page.FindAndTypeAsync("#outcome-1", "No");
        await page.FindAndSubmitAsync("[data-testid=create-pool]");

        Assert.Equal("The question has 46 characters; the limit is 45. An emoji counts as one or more.",
            page.Find("[data-testid=field-error][data-field=title]").TextContent);
        Assert.Equal("Outcome 1 has 26 characters; the limit is 25. An emoji counts as one or more.",
            page.Find("[data-testid=field-error][data-field='outcomes[0]']").TextContent);
        Assert.Empty(Gateway.Changes);

        // Back within the limit, the messages go and the pool is opened.
        await page.FindAndTypeAsync("#pool-title", string.Concat(Enumerable.Repeat("🎮", 45)));
        await page.FindAndTypeAsync("#outcome-0", "Yes");
        Assert.Empty(page.FindAll("[data-testid=field-error]"));
        await page.FindAndSubmitAsync("[data-testid=create-pool]");
        Assert.Equal(["POST /api/pools"], Gateway.Changes);
    }

    [Fact]
    public async Task A_refusal_Pools_still_makes_lists_its_message_by_field()
    {
        var page = await CreateFormAsync();
        Gateway.Refuse("/api/pools", 400, "invalid-pool", new Dictionary<string, string[]>
        {
            ["title"] = ["The title must not contain line breaks, tabs, or invisible characters such as zero-width spaces or direction marks."],
        });

        await page.FindAndTypeAsync("#pool-title", "Who wins?​");
        await page.FindAndTypeAsync("#outcome-0", "Yes");
        await page.FindAndTypeAsync("#outcome-1", "No");
        await page.FindAndSubmitAsync("[data-testid=create-pool]");

        var problem = page.Find("[data-testid=create-pool] [data-testid=problem]");
        Assert.Equal("invalid-pool", problem.GetAttribute("data-code"));
        Assert.Contains("The title must not contain line breaks", problem.TextContent);
    }

    /// <summary>
    /// Pools answers a create sent again under the same Idempotency-Key and body with the pool it first opened. Before,
    /// the page sent no key: nothing told a click sent again after a lost answer from a new one.
    /// </summary>
    [Fact]
    public async Task Each_click_or_submit_that_opens_a_pool_goes_under_an_idempotency_key_of_its_own()
    {
        var page = await TemplatesAndFormAsync();
        Gateway.Answer("/api/pools", OpenPool(First));

        await page.FindAndClickAsync("[data-testid=open-template]");
        await page.FindAndClickAsync("[data-testid=open-template]"); // another pool, on purpose
        await FillFormAsync(page, "Who wins?");
        await page.FindAndSubmitAsync("[data-testid=create-pool]");
        await FillFormAsync(page, "Who wins?"); // the same question again, for the next round
        await page.FindAndSubmitAsync("[data-testid=create-pool]");

        var keys = Gateway.IdempotencyKeys("/api/pools");
        Assert.Equal(4, keys.Count);
        Assert.All(keys, key => Assert.True(Guid.TryParse(key, out _), $"Not a key as the bets' are: {key}")); // well within the Bet Engine's 1 to 100 characters
        Assert.Equal(4, keys.Distinct().Count());
    }

    /// <summary>
    /// A create that got no answer may have opened the pool: the same click or form sent again goes under its key, so Pools
    /// answers that pool instead of opening a second; once answered, or changed, it is a new opening with a new key.
    /// </summary>
    [Fact]
    public async Task An_opening_that_got_no_answer_goes_again_under_its_key_and_the_next_under_a_new_one()
    {
        var page = await TemplatesAndFormAsync();
        Gateway.Refuse("/api/pools", 503, ApiProblem.Unavailable);

        await page.FindAndClickAsync("[data-testid=open-template]");
        Assert.Equal(ApiProblem.Unavailable, page.Find("section[aria-labelledby=templates-title] [data-testid=problem]").GetAttribute("data-code"));
        Gateway.Answer("/api/pools", OpenPool(First));
        await page.FindAndClickAsync("[data-testid=open-template]"); // the streamer tries again
        await page.FindAndClickAsync("[data-testid=open-template]"); // and, opened, opens another
        var templateKeys = Gateway.IdempotencyKeys("/api/pools");
        Assert.Equal(3, templateKeys.Count);
        Assert.All(templateKeys, Assert.NotNull);
        Assert.Equal(templateKeys[0], templateKeys[1]);
        Assert.NotEqual(templateKeys[1], templateKeys[2]);

        Gateway.Refuse("/api/pools", 503, ApiProblem.Unavailable);
        await FillFormAsync(page, "Who wins?");
        await page.FindAndSubmitAsync("[data-testid=create-pool]");
        await page.FindAndSubmitAsync("[data-testid=create-pool]"); // the form as it was: the same opening
        Gateway.Answer("/api/pools", OpenPool(First));
        await page.FindAndTypeAsync("#pool-title", "Who wins the map?"); // changed: another one
        await page.FindAndSubmitAsync("[data-testid=create-pool]");
        var formKeys = Gateway.IdempotencyKeys("/api/pools").Skip(3).ToArray();
        Assert.Equal(3, formKeys.Length);
        Assert.Equal(formKeys[0], formKeys[1]);
        Assert.NotEqual(formKeys[1], formKeys[2]);
        Assert.DoesNotContain(formKeys[0], templateKeys);
    }

    /// <summary>Before, Pools' "pending" was all the page knew: a pool whose settlement failed showed "Paying out…" for ever.</summary>
    [Theory]
    [InlineData("resolved", "Payout stopped — StreamBets operators have been alerted. Nothing is lost: what is not paid yet stays in the pool's escrow until it is.")]
    [InlineData("cancelled", "Refund stopped — StreamBets operators have been alerted. Nothing is lost: the stakes not refunded yet stay in the pool's escrow until they are.")]
    public void A_finished_pool_whose_settlement_failed_says_its_payout_stopped_and_operators_know(string state, string shown)
    {
        CultureInfo.CurrentUICulture = new CultureInfo("en");
        var pool = FinishedPool(state);
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        Gateway.Answer("/api/pools/finished", new[] { pool });
        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "failed"));

        var page = Bunit.Render<Streamer>();

        page.WaitForAssertion(() => Assert.Equal(shown, SettlementNote(page, pool).TextContent));
        Assert.Equal("true", SettlementNote(page, pool).GetAttribute("data-stopped"));
    }

    /// <summary>
    /// Only Settlement's "failed" says stopped: a settlement still running (retrying), one Settlement has not heard of yet
    /// (404), and a read that failed (Pools could not say whose the pool is: 503) leave "Paying out…", never a problem box.
    /// </summary>
    [Fact]
    public void A_running_settlement_an_unknown_one_and_a_failed_read_still_show_paying_out()
    {
        CultureInfo.CurrentUICulture = new CultureInfo("en");
        var (running, unknown, unreadable, failed) = (FinishedPool("resolved"), FinishedPool("resolved"), FinishedPool("resolved"), FinishedPool("resolved"));
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        Gateway.Answer("/api/pools/finished", new[] { running, unknown, unreadable, failed });
        Gateway.Answer(SettlementPath(running), SettlementOf(running, "running"));
        Gateway.Refuse(SettlementPath(unreadable), 503, "dependency-unavailable");
        Gateway.Answer(SettlementPath(failed), SettlementOf(failed, "failed"));

        var page = Bunit.Render<Streamer>();

        // The failed one shows stopped once the page has Settlement's answers, the others' included.
        page.WaitForAssertion(() => Assert.Equal("true", SettlementNote(page, failed).GetAttribute("data-stopped")));
        Assert.All(new[] { running, unknown, unreadable }, pool =>
        {
            Assert.Contains(SettlementPath(pool), Gateway.Requests);
            Assert.Equal("Paying out…", SettlementNote(page, pool).TextContent);
        });
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }

    [Fact]
    public void Only_the_newest_few_pools_Pools_shows_unpaid_are_read_from_Settlement()
    {
        var settled = FinishedPool("resolved") with { Settlement = "settled", SettledAt = Clock.GetUtcNow() };
        var unpaid = Enumerable.Range(0, 7).Select(_ => FinishedPool("resolved")).ToArray();
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        Gateway.Answer("/api/pools/finished", new[] { settled }.Concat(unpaid).ToArray());
        foreach (var pool in unpaid)
        {
            Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "failed"));
        }

        var page = Bunit.Render<Streamer>();

        page.WaitForAssertion(() => Assert.Equal("true", SettlementNote(page, unpaid[4]).GetAttribute("data-stopped")));
        var read = Gateway.Requests.Where(path => path.StartsWith("/api/settlements/")).ToArray();
        Assert.Equal(unpaid.Take(5).Select(SettlementPath).Order(), read.Order());
        Assert.Equal("false", SettlementNote(page, settled).GetAttribute("data-stopped"));
        Assert.Equal("false", SettlementNote(page, unpaid[5]).GetAttribute("data-stopped"));
    }

    [Fact]
    public void A_payout_requeued_by_an_operator_shows_paying_out_again_on_the_next_read()
    {
        var pool = FinishedPool("resolved");
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        Gateway.Answer("/api/pools/finished", new[] { pool });
        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "failed"));
        var page = Bunit.Render<Streamer>();
        page.WaitForAssertion(() => Assert.Equal("true", SettlementNote(page, pool).GetAttribute("data-stopped")));

        Gateway.Answer(SettlementPath(pool), SettlementOf(pool, "running"));
        Clock.Advance(TimeSpan.FromSeconds(5)); // the offline poll reads the lists again

        page.WaitForAssertion(() => Assert.Equal("false", SettlementNote(page, pool).GetAttribute("data-stopped")));
    }

    private async Task<IRenderedComponent<Streamer>> CreateFormAsync()
    {
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=create-pool]");
        await SoonAsync(() => Gateway.Requests.Contains(LivePath));
        return page;
    }

    private async Task<IRenderedComponent<Streamer>> TemplatesAndFormAsync()
    {
        Gateway.Answer("/api/pools/templates", new[] { new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 120, null, null) });
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=open-template]");
        await SoonAsync(() => Gateway.Requests.Contains(LivePath));
        return page;
    }

    private static async Task FillFormAsync(IRenderedComponent<Streamer> page, string question)
    {
        await page.FindAndTypeAsync("#pool-title", question);
        await page.FindAndTypeAsync("#outcome-0", "Yes");
        await page.FindAndTypeAsync("#outcome-1", "No");
    }

    private static string SettlementPath(Pool pool) => $"/api/settlements/{pool.Id}";

    private static object SettlementOf(Pool pool, string status) =>
        new { poolId = pool.Id, kind = pool.State, status, attempts = 1, lastError = (string?)null, settledBets = 0 };

    private static AngleSharp.Dom.IElement SettlementNote(IRenderedComponent<Streamer> page, Pool pool) =>
        page.FindAll("[data-testid=finished-pool]").Single(li => li.QuerySelector($"a[href='/pools/{pool.Id}']") is not null)
            .QuerySelector("[data-testid=settlement]")!;

    /// <summary>
    /// A pool of the first channel that finished a minute ago and that Pools shows not yet paid out; both sides backed, so
    /// resolved it pays its winners (with one side unbacked it would be refunded).
    /// </summary>
    private Pool FinishedPool(string state)
    {
        var pool = OpenPool(First);
        return pool with
        {
            State = state, BettingOpen = false, ClosedAt = Clock.GetUtcNow().AddMinutes(-1), Settlement = "pending",
            Outcomes = [pool.Outcomes[0] with { StakedMinor = 10_00, BetCount = 1 }, pool.Outcomes[1] with { StakedMinor = 5_00, BetCount = 1 }],
            TotalStakedMinor = 15_00,
            WinningOutcomeIds = state == "resolved" ? [pool.Outcomes[0].Id] : [],
        };
    }

    /// <summary>Before, the page watched "Twitch:streamer1", and the pool-created push for "twitch:streamer1" read nothing.</summary>
    [Fact]
    public async Task A_channel_address_with_a_capitalised_provider_still_hears_its_new_pools()
    {
        Gateway.Answer(LivePath, Array.Empty<Pool>());
        Bunit.Services.GetRequiredService<NavigationManager>().NavigateTo("/streamer?channel=Twitch:streamer1");
        Bunit.Render<Streamer>();
        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == LivePath) == 1));

        var created = new PoolCreatedMessage(Guid.NewGuid(), First.ToString(), "Who wins?", Clock.GetUtcNow()) { Stream = $"channel:{First}", Sequence = 1 };
        Live.Receive("PoolCreated", JsonSerializer.SerializeToElement(created, new JsonSerializerOptions(JsonSerializerDefaults.Web)));

        Assert.True(await SoonAsync(() => Gateway.Requests.Count(r => r == LivePath) == 2), "The new pool's push read nothing.");
    }

    /// <summary>
    /// Settlement refunds every stake, rake-free, when nobody backed a winner or nobody backed a loser (PayoutRule.ForResolved):
    /// the confirmation says so. Before, it asked "Pay out to everyone who backed No?" of a pool nobody had backed No in.
    /// </summary>
    [Theory]
    [InlineData(10_00, 0, 1, true)] // nobody backed the winner
    [InlineData(10_00, 0, 0, true)] // nobody backed the loser: the only side backed wins
    [InlineData(10_00, 5_00, 1, false)] // both sides backed: the winners are paid
    public async Task A_resolve_that_refunds_every_stake_says_so_before_it_is_confirmed(long onYes, long onNo, int winner, bool refunds)
    {
        var (page, picked) = await ResolveAskedAsync(onYes, onNo, winner);

        var confirm = page.Find("[data-testid=resolve-confirm] p").TextContent;
        Assert.Equal(refunds
            ? $"Resolve with {picked.Label} winning? Every stake will be refunded, with no rake: nobody backed {picked.Label}, or nobody backed the other side. This cannot be undone."
            : $"Pay out to everyone who backed {picked.Label}? This cannot be undone.", confirm);
    }

    /// <summary>Before, the question said every stake would be refunded and the button still said "Yes, pay out".</summary>
    [Theory]
    [InlineData("en", 10_00, 0, 1, "Yes, refund every stake")]
    [InlineData("pt-BR", 10_00, 0, 1, "Sim, devolver todas as apostas")]
    [InlineData("en", 10_00, 0, 0, "Yes, refund every stake")]
    [InlineData("pt-BR", 10_00, 0, 0, "Sim, devolver todas as apostas")]
    [InlineData("en", 10_00, 5_00, 1, "Yes, pay out")]
    [InlineData("pt-BR", 10_00, 5_00, 1, "Sim, pagar")]
    public async Task The_resolve_confirmation_button_says_refund_when_the_resolve_refunds_every_stake(string language, long onYes, long onNo, int winner, string button)
    {
        CultureInfo.CurrentUICulture = new CultureInfo(language); // flows into this test's awaits, and the handlers they run

        var (page, _) = await ResolveAskedAsync(onYes, onNo, winner);

        Assert.Equal(button, page.Find("[data-testid=resolve-yes]").TextContent);
    }

    /// <summary>The streamer's page with a locked pool staked <paramref name="onYes"/> and <paramref name="onNo"/>, asking to resolve it to outcome <paramref name="winner"/>.</summary>
    private async Task<(IRenderedComponent<Streamer> Page, PoolOutcome Picked)> ResolveAskedAsync(long onYes, long onNo, int winner)
    {
        var open = OpenPool(First);
        var pool = open with
        {
            State = "locked", BettingOpen = false, TotalStakedMinor = onYes + onNo,
            Outcomes = [open.Outcomes[0] with { StakedMinor = onYes, BetCount = onYes > 0 ? 1 : 0 }, open.Outcomes[1] with { StakedMinor = onNo, BetCount = onNo > 0 ? 1 : 0 }],
        };
        var picked = pool.Outcomes[winner];
        Gateway.Answer(LivePath, new[] { pool });
        var page = Bunit.Render<Streamer>();
        page.WaitForElement("[data-testid=resolve-pool]");

        await page.InvokeAsync(() => page.Find($"#win-{picked.Id:N}").Change(true));
        await page.InvokeAsync(() => page.Find("[data-testid=resolve-pool]").ClickAsync(new()));
        return (page, picked);
    }

    private Task<bool> ChangesSentAsync(int count) =>
        Eventually.HoldsAsync(() => Task.FromResult(Gateway.Changes.Count == count), TimeSpan.FromSeconds(15));

    private Pool OpenPool(PoolChannel channel) => new(
        Guid.NewGuid(), channel, Guid.NewGuid(), "Who wins?", "open", true,
        [new PoolOutcome(Guid.NewGuid(), "Yes", 0, 0, null), new PoolOutcome(Guid.NewGuid(), "No", 0, 0, null)], 0, 1_00, 1_000_00, 500, 120,
        Clock.GetUtcNow(), Clock.GetUtcNow(), Clock.GetUtcNow().AddMinutes(2), null, null, [], null, null, null, 1);
}
