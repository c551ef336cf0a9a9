using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// A bet's row on Accounts shows its pool's state as Pools answered at the latest Find. Before, the page read a pool
/// once per visit: a pool found locked stayed "Locked" after it was resolved, and an operator asked "where is my
/// payout?" blamed the streamer for not resolving, not the settlement that was stuck.
/// </summary>
public sealed class PoolStateOnBetsTests : ConsoleTest
{
    [Fact]
    public async Task Find_again_shows_a_bets_pool_as_it_is_now()
    {
        var (ana, pool) = PlayerWithABetOn(Locked());
        var page = Bunit.Render<Accounts>();
        await FindOnAccountsAsync(page, ana.Email);
        page.WaitForAssertion(() => Assert.Contains("· Locked", page.Find("[data-testid=bet]").TextContent));

        Gateway.Answer("/api/pools?ids=", () => new[] { pool with { State = "Resolved" } });
        await FindOnAccountsAsync(page, ana.Email);

        page.WaitForAssertion(() => Assert.Contains("· Resolved", page.Find("[data-testid=bet]").TextContent));
    }

    [Fact]
    public async Task A_pool_read_for_an_earlier_find_that_answers_late_does_not_replace_the_latest()
    {
        var (ana, pool) = PlayerWithABetOn(Locked());
        // Answered in the order they arrive: the later Find's read first, then the earlier Find's, held back.
        var answers = new Queue<PoolSummary>([pool with { State = "Resolved" }, pool]);
        Gateway.Answer("/api/pools?ids=", () => new[] { answers.Dequeue() });
        var firstRead = Gateway.HoldNext("/api/pools?ids=");
        var page = Bunit.Render<Accounts>();
        var firstFind = FindOnAccountsAsync(page, ana.Email);
        await Gateway.WaitForRequestAsync("GET /api/pools?ids=");

        await FindOnAccountsAsync(page, ana.Email);
        page.WaitForAssertion(() => Assert.Contains("· Resolved", page.Find("[data-testid=bet]").TextContent));
        firstRead.SetResult();
        await firstFind;

        Assert.Empty(answers);
        Assert.Contains("· Resolved", page.Find("[data-testid=bet]").TextContent);
    }

    private static PoolSummary Locked() => LivePool("Who wins the round?") with { State = "Locked", BettingOpen = false };

    /// <summary>A player with one bet, not settled yet, on <paramref name="pool"/>, which Pools answers as given.</summary>
    private (Account Player, PoolSummary Pool) PlayerWithABetOn(PoolSummary pool)
    {
        var ana = new Account(Guid.NewGuid(), "ana@example.com", "Ana", "player", 1, "BR", DateTimeOffset.UtcNow);
        var bet = new Bet(Guid.NewGuid(), pool.Id, pool.Outcomes[0].Id, 10_00, "accepted", DateTimeOffset.UtcNow, null, null, null, null);
        AnswerAccount(ana);
        Gateway.Answer($"/api/bets/users/{ana.Id}", () => new BetPage([bet], null));
        Gateway.Answer("/api/pools?ids=", () => new[] { pool });
        return (ana, pool);
    }
}
