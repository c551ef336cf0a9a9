using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A confirmed change on Accounts always shows what became of it. A search made while a change is on its way is dropped,
/// not run after it (a click is served one at a time): before, such a search dropped the change's answer as outdated,
/// and for a link that moved a channel its message was the only place the previous owner's id was shown.
/// </summary>
public sealed class ChangeDuringSearchTests : ConsoleTest
{
    [Fact]
    public async Task A_role_change_on_its_way_is_not_lost_to_a_search_and_says_what_it_did()
    {
        var ana = Person("Ana", "player");
        var bia = Person("Bia", "player");
        var page = await AccountsShowingAsync(ana, bia);
        Gateway.Answer($"PUT /api/users/admin/users/{ana.Id}/role", () => ana with { Role = "streamer" });
        var roleChanged = Gateway.HoldNext($"/api/users/admin/users/{ana.Id}/role");
        page.Find("#role").Change("streamer");
        await page.InvokeAsync(() => Button(page, "[data-testid=account]", "Change role").ClickAsync(new()));
        var confirmed = page.InvokeAsync(() => Confirmation(page, "[data-testid=account]").ClickAsync(new()));
        await Gateway.WaitForRequestAsync($"PUT /api/users/admin/users/{ana.Id}/role");

        await SearchAsync(page, bia.Email);
        roleChanged.SetResult();
        await confirmed;

        page.WaitForAssertion(() => Assert.Contains("Ana is now a streamer", page.Find("[data-testid=message]").TextContent));
        Assert.Equal("streamer", page.Find("[data-testid=account]").GetAttribute("data-role"));
        Assert.DoesNotContain(Gateway.Requests, r => r.Contains(bia.Email, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_link_on_its_way_is_not_lost_to_a_search_and_names_the_channels_previous_owner()
    {
        var ana = Person("Ana", "streamer");
        var bia = Person("Bia", "player");
        var previousOwner = Guid.NewGuid();
        var page = await AccountsShowingAsync(ana, bia);
        Gateway.Answer("PUT /api/pools/admin/channels/twitch/foo",
            () => new ChannelLink(new PoolChannel("twitch", "foo"), ana.Id, AdminId, DateTimeOffset.UtcNow, previousOwner));
        page.Find("#channel-id").Change("foo");
        await page.Find("[data-testid=link-channel]").SubmitAsync(); // reads whose it is and asks first
        var linked = Gateway.HoldNext("/api/pools/admin/channels/twitch/foo");
        var link = page.InvokeAsync(() => Confirmation(page, "[data-testid=link-channel]").ClickAsync(new()));
        await Gateway.WaitForRequestAsync("PUT /api/pools/admin/channels/twitch/foo");

        await SearchAsync(page, bia.Email);
        linked.SetResult();
        await link;

        page.WaitForAssertion(() => Assert.Contains(previousOwner.ToString(), page.Find("[data-testid=message]").TextContent));
        Assert.Single(page.FindAll("[data-testid=channel-link][data-channel='twitch:foo']"));
    }

    private static Account Person(string name, string role) =>
        new(Guid.NewGuid(), $"{name.ToLowerInvariant()}@example.com", name, role, 1, "BR", DateTimeOffset.UtcNow);

    /// <summary>The Accounts page showing <paramref name="shown"/>; <paramref name="other"/> can be found too.</summary>
    private async Task<IRenderedComponent<Accounts>> AccountsShowingAsync(Account shown, Account other)
    {
        foreach (var account in new[] { shown, other })
        {
            Gateway.Answer($"/api/users/admin/users?email={account.Email}", () => account);
            Gateway.Answer($"/api/users/admin/wallets/{account.Id}", () => new WalletBalance(account.Id, 0));
            Gateway.Answer($"/api/users/admin/wallets/{account.Id}/history", () => new WalletHistoryPage([], null));
            Gateway.Answer($"/api/bets/users/{account.Id}", () => new BetPage([], null));
        }
        Gateway.Answer("/api/pools/admin/channels?ownerId=", Array.Empty<ChannelLink>);
        var page = Bunit.Render<Accounts>();
        await SearchAsync(page, shown.Email);
        page.WaitForAssertion(() => Assert.Equal(shown.Role, page.Find("[data-testid=account]").GetAttribute("data-role")));
        return page;
    }

    private static Task SearchAsync(IRenderedComponent<Accounts> page, string email)
    {
        page.Find("#email").Change(email);
        return page.Find("[data-testid=find-account]").SubmitAsync();
    }
}
