using System.Net;
using System.Text.Json;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;
using StreamBets.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>
/// What Pools says about its configuration reaches the operator in words they can act on: a stored configuration
/// document that is broken (written around the API) is flagged above the form, which a save replaces; defaults under
/// which a template could no longer open a pool are refused naming each template. Before, the page showed the values
/// in force as if they were stored, and listed the refusal under keys like templates[quick].maxStakeMinor.
/// </summary>
public sealed class PoolsConfigurationTests : ConsoleTest
{
    private const string StoredConfigInvalid = "[data-testid=stored-config-invalid]";

    [Fact]
    public async Task A_broken_stored_configuration_is_flagged_with_its_problems_and_a_save_replaces_it_with_every_field()
    {
        // As Pools answers it: the values in force on the replica, the stored document's digest, and what is wrong with it.
        Gateway.Answer("/api/pools/admin/config", () => new
        {
            defaultRakeBasisPoints = 500, defaultMinStakeMinor = 100, defaultMaxStakeMinor = 100_000, oneActivePoolPerChannel = true,
            autoCancelAfterHours = 24, version = "stored-digest", storedConfigInvalid = true,
            storedConfigProblems = new Dictionary<string, string[]>
            {
                ["defaultRakeBasisPoints"] = ["The rake is 0 to 5000 basis points."],
                ["autoCancelAfterHours"] = ["A locked pool waits 1 to 168 hours for its result."],
            },
        });
        Gateway.Answer("PUT /api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v2"));
        var page = ConfigPage();
        page.WaitForAssertion(() => Assert.NotNull(page.Find(StoredConfigInvalid)));

        var alert = page.Find(StoredConfigInvalid);
        Assert.Equal("alert", alert.GetAttribute("role"));
        Assert.Contains("Saving the form replaces the stored document with the values shown", alert.TextContent);
        Assert.Equal(
            ["Rake (defaultRakeBasisPoints): The rake is 0 to 5000 basis points.",
             "Hours before a locked pool cancels itself (autoCancelAfterHours): A locked pool waits 1 to 168 hours for its result."],
            alert.QuerySelectorAll("li").Select(li => li.TextContent));

        await page.Find("[data-testid=pools-config] form").SubmitAsync();

        // Pools refuses a PUT missing any field (400): the console sends all five, at the version the read answered.
        using var body = JsonDocument.Parse(Gateway.BodyOf("PUT /api/pools/admin/config")!);
        Assert.Equal(
            ["defaultRakeBasisPoints", "defaultMinStakeMinor", "defaultMaxStakeMinor", "oneActivePoolPerChannel", "autoCancelAfterHours", "version"],
            body.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain(body.RootElement.EnumerateObject(), p => p.Value.ValueKind == JsonValueKind.Null);
        Assert.Equal("stored-digest", body.RootElement.GetProperty("version").GetString());
        Assert.Empty(page.FindAll(StoredConfigInvalid));
        Assert.Contains("Defaults saved", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task Defaults_that_would_break_templates_are_refused_naming_each_template()
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        Gateway.Refuse("PUT /api/pools/admin/config", HttpStatusCode.Conflict, new Dictionary<string, object>
        {
            ["type"] = "https://streambets.dev/problems/config-breaks-templates",
            ["title"] = "Configuration breaks templates",
            ["status"] = 409,
            ["detail"] = "Under this configuration 2 template(s) that open a pool now could no longer open one; nothing was saved. Change the configuration or those templates first.",
            ["errors"] = new Dictionary<string, string[]>
            {
                ["templates[quick].maxStakeMinor"] = ["The minimum stake is above the maximum."],
                ["templates[next-map].minStakeMinor"] = ["The minimum stake is above the maximum."],
            },
        });
        var page = ConfigPage();
        page.WaitForAssertion(() => Assert.Equal("500", page.Find("#rake").GetAttribute("value")));

        page.Find("#min-stake").Change("2000");
        await page.Find("[data-testid=pools-config] form").SubmitAsync();
        await page.InvokeAsync(() => Confirmation(page, "[data-testid=pools-config]").ClickAsync(new())); // a stake limit changed: asked first

        var problem = page.Find("[data-testid=problem]");
        Assert.Equal("config-breaks-templates", problem.GetAttribute("data-code"));
        Assert.Contains("nothing was saved", problem.TextContent);
        Assert.Equal(
            ["Template quick, maximum stake: The minimum stake is above the maximum.",
             "Template next-map, minimum stake: The minimum stake is above the maximum."],
            problem.QuerySelectorAll("li").Select(li => li.TextContent));
        Assert.Empty(page.FindAll("[data-testid=message]"));
    }

    [Fact]
    public async Task A_template_question_of_emoji_within_Pools_45_characters_is_saved_whole()
    {
        // Pools counts code points: 30 emoji are 30 of the 45, though 60 UTF-16 units, which a browser's maxlength counts.
        var question = string.Concat(Enumerable.Repeat("🎮", 30));
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        Gateway.Answer("/api/pools/admin/templates/emoji", () => new PoolTemplate("emoji", question, ["Blue", "Red"], 90, null, null, "t1"));
        var page = ConfigPage();
        page.WaitForAssertion(() => Assert.Equal("500", page.Find("#rake").GetAttribute("value")));

        page.Find("#template-id").Change("emoji");
        page.Find("#template-title").Change(BrowserTyping.Typed(question, page.Find("#template-title").GetAttribute("maxlength")));
        page.Find("#template-outcomes").Change("Blue\nRed");
        await page.Find("[data-testid=template-form]").SubmitAsync();

        using var body = JsonDocument.Parse(Gateway.BodyOf("PUT /api/pools/admin/templates/emoji")!);
        Assert.Equal(question, body.RootElement.GetProperty("title").GetString());
    }

    private IRenderedComponent<PoolSettings> ConfigPage()
    {
        Gateway.Answer("/api/pools/admin/templates", Array.Empty<PoolTemplate>);
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        return Bunit.Render<PoolSettings>();
    }
}
