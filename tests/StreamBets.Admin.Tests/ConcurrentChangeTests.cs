using System.Net;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// Two operators at work on the same settings or channel: a change made from what another operator has changed since
/// is refused by Pools, and the page says so and shows what is there now. Before, a stale form overwrote the other
/// operator's defaults (the rake among them), a new template replaced theirs, and an unlink took the channel from
/// whoever held it by then.
/// </summary>
public sealed class ConcurrentChangeTests : ConsoleTest
{
    [Fact]
    public async Task Defaults_another_operator_saved_meanwhile_are_not_overwritten_and_the_page_shows_theirs()
    {
        var current = new PoolsSettings(500, 100, 100_000, true, 24, "v1");
        Gateway.Answer("/api/pools/admin/config", () => current);
        Gateway.Answer("/api/pools/admin/templates", Array.Empty<PoolTemplate>);
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        Gateway.Refuse("PUT /api/pools/admin/config", HttpStatusCode.Conflict,
            new { type = "https://streambets.dev/problems/config-changed", title = "Configuration changed meanwhile", status = 409 });
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.Equal("500", page.Find("#rake").GetAttribute("value")));

        current = current with { DefaultRakeBasisPoints = 250, Version = "v2" }; // the other operator's save
        page.Find("#auto-cancel").Change("48");
        await page.Find("[data-testid=pools-config] form").SubmitAsync();

        var problem = page.Find("[data-testid=problem]");
        Assert.Equal("config-changed", problem.GetAttribute("data-code"));
        Assert.Contains("Another operator changed these settings", problem.TextContent);
        Assert.Equal("250", page.Find("#rake").GetAttribute("value"));
        Assert.Equal("24", page.Find("#auto-cancel").GetAttribute("value"));
        Assert.Empty(page.FindAll("[data-testid=message]"));
    }

    [Fact]
    public async Task A_new_template_under_an_id_another_operator_took_meanwhile_is_refused_and_theirs_is_listed()
    {
        var templates = Array.Empty<PoolTemplate>();
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        Gateway.Answer("/api/pools/admin/templates", () => templates);
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        Gateway.Refuse("PUT /api/pools/admin/templates/next-map", HttpStatusCode.Conflict,
            new { type = "https://streambets.dev/problems/template-exists", title = "Template exists", status = 409 });
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.NotNull(page.Find("#rake")));

        templates = [new PoolTemplate("next-map", "Their question?", ["Blue", "Red"], 90, null, null, "t1")];
        page.Find("#template-id").Change("next-map");
        page.Find("#template-title").Change("Who wins the next map?");
        page.Find("#template-outcomes").Change("Blue\nRed");
        await page.Find("[data-testid=template-form]").SubmitAsync();

        Assert.Contains("already exists", page.Find("[data-testid=problem]").TextContent);
        Assert.Contains("Their question?", page.Find("[data-template-id=next-map]").TextContent);
        Assert.Equal("Who wins the next map?", page.Find("#template-title").GetAttribute("value")); // kept, to save under another id
    }

    [Fact]
    public async Task A_template_delete_names_the_version_the_operator_saw()
    {
        var page = PoolSettingsWithTemplates(() => [new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 90, null, null, "t1")]);
        Gateway.Answer("DELETE /api/pools/admin/templates/next-map", () => true);

        await DeleteAsync(page, "next-map");

        Assert.Contains("DELETE /api/pools/admin/templates/next-map?version=t1", Gateway.Requests);
        Assert.Empty(page.FindAll("[data-template-id=next-map]"));
    }

    [Fact]
    public async Task A_template_another_operator_changed_meanwhile_is_not_deleted_and_the_page_shows_their_change()
    {
        var templates = new[] { new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 90, null, null, "t1") };
        var page = PoolSettingsWithTemplates(() => templates);
        Gateway.Refuse("DELETE /api/pools/admin/templates/next-map", HttpStatusCode.Conflict,
            new { type = "https://streambets.dev/problems/template-changed", title = "Template changed meanwhile", status = 409 });

        templates = [templates[0] with { Title = "Who takes the next map?", Version = "t2" }]; // the other operator's save
        await DeleteAsync(page, "next-map");

        var problem = page.Find("[data-testid=problem]");
        Assert.Equal("template-changed", problem.GetAttribute("data-code"));
        Assert.Contains("Template next-map was changed by another operator since you loaded it", problem.TextContent);
        Assert.Contains("review it and delete again", problem.TextContent);
        Assert.Equal(2, Gateway.Requests.Count(r => r == "GET /api/pools/admin/templates"));
        Assert.Contains("Who takes the next map?", page.Find("[data-template-id=next-map]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=message]"));

        await DeleteAsync(page, "next-map"); // deleting again deletes what the operator now sees
        Assert.Contains("DELETE /api/pools/admin/templates/next-map?version=t2", Gateway.Requests);
    }

    [Fact]
    public async Task A_link_that_moves_a_channel_from_another_streamer_says_so()
    {
        var (streamer, previousOwner) = (Streamer("Ana"), Guid.NewGuid());
        var channel = new PoolChannel("twitch", "foo");
        Gateway.Answer("PUT /api/pools/admin/channels/twitch/foo", () => new ChannelLink(channel, streamer.Id, Guid.NewGuid(), DateTimeOffset.UtcNow, previousOwner));
        var page = await StreamerOnAccountsAsync(streamer);

        page.Find("#channel-id").Change("foo");
        await page.Find("[data-testid=link-channel]").SubmitAsync();
        await page.InvokeAsync(() => Confirmation(page, "[data-testid=link-channel]").ClickAsync(new()));

        var message = page.Find("[data-testid=message]").TextContent;
        Assert.Contains("twitch:foo moved to Ana from another streamer", message);
        Assert.Contains(previousOwner.ToString(), message);
    }

    [Fact]
    public async Task An_unlink_names_the_owner_the_operator_saw_and_a_channel_that_moved_meanwhile_leaves_their_list()
    {
        var streamer = Streamer("Ana");
        var channel = new PoolChannel("twitch", "foo");
        var links = new[] { new ChannelLink(channel, streamer.Id, Guid.NewGuid(), DateTimeOffset.UtcNow) };
        Gateway.Answer($"/api/pools/admin/channels?ownerId={streamer.Id}", () => links);
        Gateway.Refuse("DELETE /api/pools/admin/channels/twitch/foo", HttpStatusCode.Conflict,
            new { type = "https://streambets.dev/problems/channel-owner-changed", title = "Channel owner changed meanwhile", status = 409,
                detail = "Channel twitch:foo is linked to account 42 now; nothing was unlinked." });
        var page = await StreamerOnAccountsAsync(streamer);
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=channel-link]")));

        links = []; // another operator moved it to another streamer
        await page.InvokeAsync(() => page.Find("[data-testid=channel-link] button").ClickAsync(new()));
        await page.InvokeAsync(() => Confirmation(page, "[data-testid=channel-link]").ClickAsync(new()));

        Assert.Contains($"DELETE /api/pools/admin/channels/twitch/foo?ownerId={streamer.Id}", Gateway.Requests);
        Assert.Equal("channel-owner-changed", page.Find("[data-testid=problem]").GetAttribute("data-code"));
        Assert.Empty(page.FindAll("[data-testid=channel-link]"));
        Assert.Empty(page.FindAll("[data-testid=message]"));
    }

    /// <summary>Pool settings listing <paramref name="templates"/> as they are when each read is answered.</summary>
    private IRenderedComponent<PoolSettings> PoolSettingsWithTemplates(Func<PoolTemplate[]> templates)
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        Gateway.Answer("/api/pools/admin/templates", () => templates());
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid=template]")));
        return page;
    }

    private static async Task DeleteAsync(IRenderedComponent<PoolSettings> page, string templateId)
    {
        var row = $"[data-template-id={templateId}]";
        await page.InvokeAsync(() => Button(page, row, "Delete").ClickAsync(new()));
        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
    }
}
