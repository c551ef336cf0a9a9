using System.Net;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The template form on Pool settings. A refused save is shown beside the form, naming fields by the form's labels, and
/// takes the keyboard: before, it showed at the top of the page, out of sight, keyed "maxStakeMinor" and "outcomes[2]".
/// The form always holds what the operator last opened: before, deleting the template being edited left its edit open
/// (a later Save was refused and blamed on "another operator"), and a save answering after an Edit clicked meanwhile
/// emptied that edit.
/// </summary>
public sealed class TemplateFormTests : ConsoleTest
{
    private const string Form = "[data-testid=template-form]";
    private static readonly PoolTemplate NextMap = new("next-map", "Who wins the next map?", ["Blue", "Red"], 90, null, null, "t1");
    private static readonly PoolTemplate FirstBlood = new("first-blood", "First blood?", ["Yes", "No"], 60, null, null, "t1");

    [Fact]
    public async Task A_refused_save_is_shown_beside_the_form_by_its_labels_and_takes_the_keyboard()
    {
        var page = PoolSettingsWith(NextMap);
        Gateway.Refuse("PUT /api/pools/admin/templates/quick", HttpStatusCode.BadRequest, new
        {
            type = "https://streambets.dev/problems/invalid-request",
            title = "One or more validation errors occurred.",
            status = 400,
            errors = new Dictionary<string, string[]>
            {
                ["maxStakeMinor"] = ["The maximum stake is above the house limit."],
                ["bettingWindowSeconds"] = ["A betting window is 30 to 1800 seconds."],
                ["outcomes[2]"] = ["An outcome has 1 to 30 characters."],
            },
        });
        page.Find("#template-id").Change("quick");
        page.Find("#template-title").Change("Who wins?");
        page.Find("#template-outcomes").Change("Blue\nRed\n" + new string('x', 40));

        await page.Find(Form).SubmitAsync();

        var problem = page.Find("[data-testid=templates] [data-testid=problem]");
        Assert.Equal(problem.GetAttribute("blazor:elementReference"), FocusedLast());
        var fields = problem.QuerySelectorAll("li strong").Select(f => f.TextContent).ToList();
        Assert.Equal(["Maximum stake", "Betting window", "Outcome 3"], fields);
        Assert.DoesNotContain("maxStakeMinor", problem.TextContent);
    }

    [Fact]
    public async Task Deleting_the_template_being_edited_closes_its_edit()
    {
        var page = PoolSettingsWith(NextMap);
        Gateway.Answer("DELETE /api/pools/admin/templates/next-map", () => true);
        await page.InvokeAsync(() => Button(page, "[data-template-id=next-map]", "Edit").ClickAsync(new()));
        Assert.Equal("next-map", page.Find("#template-id").GetAttribute("value"));

        await ConfirmAsync(page, "[data-template-id=next-map]", "Delete");

        Assert.Equal("New template", page.Find("[data-testid=templates] h3").TextContent);
        Assert.True(string.IsNullOrEmpty(page.Find("#template-id").GetAttribute("value")));
        Assert.Contains("Template next-map deleted", page.Find("[data-testid=message]").TextContent);
    }

    [Fact]
    public async Task Edit_and_Cancel_are_disabled_while_a_save_is_on_its_way_and_an_edit_opened_meanwhile_is_kept()
    {
        var page = PoolSettingsWith(NextMap, FirstBlood);
        Gateway.Answer("PUT /api/pools/admin/templates/next-map", () => NextMap with { Title = "Who takes the next map?", Version = "t2" });
        await page.InvokeAsync(() => Button(page, "[data-template-id=next-map]", "Edit").ClickAsync(new()));
        var editFirstBlood = ClickSentFrom(page, Button(page, "[data-template-id=first-blood]", "Edit"));
        page.Find("#template-title").Change("Who takes the next map?");
        var slowSave = Gateway.HoldNext("/api/pools/admin/templates/next-map");
        var saving = page.InvokeAsync(() => page.Find(Form).SubmitAsync());
        await Gateway.WaitForRequestAsync("PUT /api/pools/admin/templates/next-map");

        Assert.True(Button(page, "[data-template-id=first-blood]", "Edit").HasAttribute("disabled"));
        Assert.True(page.FindAll($"{Form} button").Single(b => b.TextContent == "Cancel").HasAttribute("disabled"));
        await editFirstBlood(); // sent before the browser showed it disabled
        slowSave.SetResult();
        await saving;

        page.WaitForAssertion(() => Assert.Contains("Template next-map saved", page.Find("[data-testid=message]").TextContent));
        Assert.Equal("Edit template first-blood", page.Find("[data-testid=templates] h3").TextContent);
        Assert.Equal("First blood?", page.Find("#template-title").GetAttribute("value"));
    }

    private IRenderedComponent<PoolSettings> PoolSettingsWith(params PoolTemplate[] templates)
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24, "v1"));
        Gateway.Answer("/api/pools/admin/templates", () => templates);
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([], null));
        var page = Bunit.Render<PoolSettings>();
        page.WaitForAssertion(() => Assert.Equal(templates.Length, page.FindAll("[data-testid=template]").Count));
        return page;
    }
}
