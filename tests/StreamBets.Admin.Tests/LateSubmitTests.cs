using System.Net;
using System.Text.Json;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A submit the browser sent before it received the render answering the first one still reaches the page (Blazor
/// Server keeps the form's handler until the browser has that render), after the answer emptied the form or filled it
/// again. It sends nothing until the operator changes a field. Before, a late Link channel sent an empty channel id and
/// a late Save template failed the page's own check, their red problems replacing the message saying what the first
/// submit did; a late Save defaults after another operator's change saved theirs again, and "Defaults saved" replaced
/// the problem saying the operator's were not.
/// </summary>
public sealed class LateSubmitTests : ConsoleTest
{
    private const string TemplateForm = "[data-testid=template-form]";
    private const string ConfigForm = "[data-testid=pools-config] form";
    private const string LinkForm = "[data-testid=link-channel]";

    [Fact]
    public async Task A_late_link_submit_sends_nothing_and_keeps_the_linked_message_and_the_channel_typed_again_is_linked()
    {
        var streamer = Streamer("Ana");
        Gateway.Answer("PUT /api/pools/admin/channels/twitch/foo", () => new ChannelLink(new PoolChannel("twitch", "foo"), streamer.Id, AdminId, DateTimeOffset.UtcNow));
        var page = await StreamerOnAccountsAsync(streamer);
        page.Find("#channel-id").Change("foo");
        await page.InvokeAsync(() => page.Find(LinkForm).SubmitAsync()); // asks first
        await page.InvokeAsync(() => Confirmation(page, LinkForm).ClickAsync(new()));

        await page.InvokeAsync(() => page.Find(LinkForm).SubmitAsync()); // the browser's second submit, late

        Assert.Equal(["PUT /api/pools/admin/channels/twitch/foo"], Gateway.Requests.Where(r => r.StartsWith("PUT", StringComparison.Ordinal)));
        Assert.Empty(page.FindAll("[data-testid=confirm]")); // not even asked, for an empty channel id
        Assert.Contains("twitch:foo is linked to Ana", page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));

        page.Find("#channel-id").Change("foo"); // typed again, on purpose
        await page.Find(LinkForm).SubmitAsync();
        await page.InvokeAsync(() => Confirmation(page, LinkForm).ClickAsync(new()));
        Assert.Equal(2, Gateway.Requests.Count(r => r == "PUT /api/pools/admin/channels/twitch/foo"));
    }

    [Fact]
    public async Task A_late_template_submit_sends_nothing_and_keeps_the_saved_message_and_a_template_opened_again_saves()
    {
        var saved = new PoolTemplate("next-map", "Who wins the next map?", ["Blue", "Red"], 120, null, null, "t1");
        Gateway.Answer("/api/pools/admin/templates/next-map", () => saved);
        var page = PoolSettingsReading(() => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        page.Find("#template-id").Change("next-map");
        page.Find("#template-title").Change("Who wins the next map?");
        page.Find("#template-outcomes").Change("Blue\nRed");

        await SubmitLateAsync(page, TemplateForm);

        Assert.Single(Gateway.Requests, r => r == "PUT /api/pools/admin/templates/next-map");
        Assert.Contains("Template next-map saved", page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));

        // Opened from the list and saved unchanged: the operator's own submit.
        await page.InvokeAsync(() => Button(page, "[data-template-id=next-map]", "Edit").ClickAsync(new()));
        await page.Find(TemplateForm).SubmitAsync();
        Assert.Equal(2, Gateway.Requests.Count(r => r == "PUT /api/pools/admin/templates/next-map"));
    }

    [Fact]
    public async Task A_late_defaults_submit_after_another_operators_change_does_not_save_theirs_as_yours()
    {
        var current = new PoolsSettings(500, 100, 100_000, true, 24, "v1");
        Gateway.Refuse("PUT /api/pools/admin/config", HttpStatusCode.Conflict,
            new { type = "https://streambets.dev/problems/config-changed", title = "Configuration changed meanwhile", status = 409 });
        var page = PoolSettingsReading(() => current);
        current = current with { DefaultRakeBasisPoints = 250, Version = "v2" }; // the other operator's save
        page.Find("#auto-cancel").Change("48");
        await page.InvokeAsync(() => page.Find(ConfigForm).SubmitAsync());
        Assert.Equal("250", page.Find("#rake").GetAttribute("value"));
        // As Pools answers values already stored: saved, nothing recorded.
        Gateway.Answer("PUT /api/pools/admin/config", () => current);

        await page.InvokeAsync(() => page.Find(ConfigForm).SubmitAsync()); // the browser's second submit of the operator's 48

        Assert.Single(Gateway.Requests, r => r == "PUT /api/pools/admin/config");
        Assert.Contains("Another operator changed these settings", page.Find("[data-testid=problem]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=message]"));

        page.Find("#auto-cancel").Change("48"); // made again, on purpose
        await page.Find(ConfigForm).SubmitAsync();
        using var body = JsonDocument.Parse(Gateway.BodyOf("PUT /api/pools/admin/config")!);
        Assert.Equal(48, body.RootElement.GetProperty("autoCancelAfterHours").GetInt32());
        Assert.Equal("v2", body.RootElement.GetProperty("version").GetString());
        Assert.Contains("Defaults saved", page.Find("[data-testid=message]").TextContent);
    }

    /// <summary>Pool settings with no template and no change yet, its defaults read from <paramref name="config"/>.</summary>
    private IRenderedComponent<PoolSettings> PoolSettingsReading(Func<PoolsSettings> config)
    {
        Gateway.Answer("/api/pools/admin/config", () => config());
        Gateway.Answer("/api/pools/admin/templates", Array.Empty<PoolTemplate>);
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.Equal("500", page.Find("#rake").GetAttribute("value")));
        return page;
    }

    /// <summary>Submits the form, then again once the first submit is answered: the browser's second submit, late.</summary>
    private static async Task SubmitLateAsync<TPage>(IRenderedComponent<TPage> page, string form) where TPage : Microsoft.AspNetCore.Components.IComponent
    {
        await page.InvokeAsync(() => page.Find(form).SubmitAsync());
        await page.InvokeAsync(() => page.Find(form).SubmitAsync());
    }
}
