using System.Net;
using Bunit;
using StreamBets.Admin.Components.Shared;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A click the browser sent before it received the render that closed a confirmation still reaches the page (Blazor
/// Server keeps a handler until the browser has the render that removed it), after the first click was answered. It
/// sends nothing: before, Live pools sent the lock or cancel again, Pools refused it (409), and its red problem replaced
/// the message saying the pool was locked or its bets were being refunded.
/// </summary>
public sealed class LateClickTests : ConsoleTest
{
    [Theory]
    [InlineData("Lock", "lock", "is locked", "pool-not-open")]
    [InlineData("Cancel", "cancel", "is cancelled", "invalid-transition")]
    public async Task A_late_click_on_a_live_pool_confirmation_sends_nothing_and_keeps_what_the_first_one_did(
        string action, string endpoint, string said, string refusal)
    {
        var (page, pool, row) = LivePoolsWithOneToLock();
        var sent = $"/api/pools/{pool.Id}/{endpoint}";
        Gateway.Answer($"/api/pools/{pool.Id}/cancel", () => pool with { State = "Cancelled", BettingOpen = false });
        await page.InvokeAsync(() => Button(page, row, action).ClickAsync(new()));
        var lateClick = page.FindComponents<ConfirmAction>().Single(asking => asking.Instance.Asking).Instance.OnConfirm;

        await page.InvokeAsync(() => Confirmation(page, row).ClickAsync(new()));
        Assert.Contains(said, page.Find("[data-testid=message]").TextContent);
        // Pools' answer to the same action again, as it is now.
        Gateway.Refuse(sent, HttpStatusCode.Conflict, new { type = $"https://streambets.dev/problems/{refusal}", title = "Not allowed in the pool's state", status = 409 });
        await page.InvokeAsync(() => lateClick.InvokeAsync());

        Assert.Single(Gateway.Requests, r => r == $"POST {sent}");
        Assert.Contains(said, page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }
}
