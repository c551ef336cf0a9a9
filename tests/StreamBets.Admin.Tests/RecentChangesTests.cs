using System.Net;
using System.Text.Json;
using Bunit;
using StreamBets.Admin.Components.Pages;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>
/// Recent changes say what changed in the operator's terms (docs/operators.md): amounts in reais, not the centavos
/// stored, and an admin's resolve by its winning outcomes' labels, not the outcome ids Pools records.
/// </summary>
public sealed class RecentChangesTests : ConsoleTest
{
    [Fact]
    public void Amounts_in_a_changes_new_values_are_written_in_reais()
    {
        var change = new AdminChange(7, DateTimeOffset.UtcNow, Guid.NewGuid(), "Local admin", "config-saved", "defaults",
            JsonDocument.Parse("""{"defaultRakeBasisPoints":500,"defaultMinStakeMinor":150,"defaultMaxStakeMinor":100000,"minStakeMinor":null,"title":"Who wins?"}""").RootElement);

        Assert.Equal("defaultRakeBasisPoints: 500 · defaultMinStakeMinor: R$1.50 · defaultMaxStakeMinor: R$1,000.00 · title: Who wins?", change.DetailsText());
    }

    [Fact]
    public void A_pool_an_admin_resolved_is_listed_with_its_winners_label()
    {
        var (pool, blue) = BlueOrRed();
        Gateway.Answer("/api/pools?ids=", () => new[] { pool });
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([Resolved(pool, blue)], null));

        var change = RecentChangeShown();

        Assert.Contains("winner: Blue", change.TextContent);
        Assert.DoesNotContain(blue.ToString(), change.TextContent);
        Assert.Single(Gateway.Requests, r => r == $"GET /api/pools?ids={pool.Id}");
    }

    [Fact]
    public void A_resolve_whose_pool_cannot_be_read_shows_the_winners_id_and_says_why()
    {
        var (pool, blue) = BlueOrRed();
        Gateway.Refuse("/api/pools?ids=", HttpStatusCode.ServiceUnavailable);
        Gateway.Answer("/api/pools/admin/changes", () => new AdminChangePage([Resolved(pool, blue)], null));

        var change = RecentChangeShown();

        Assert.Contains($"winningOutcomeIds: {blue} (the pool could not be read, so its outcomes are shown by id)", change.TextContent);
    }

    /// <summary>A pool with outcomes Blue and Red; Blue's id.</summary>
    private static (PoolSummary Pool, Guid Blue) BlueOrRed()
    {
        var blue = new PoolOutcome(Guid.NewGuid(), "Blue", 20_00, 2);
        var pool = LivePool("Who wins the map?") with { State = "Resolved", BettingOpen = false, Outcomes = [blue, new PoolOutcome(Guid.NewGuid(), "Red", 10_00, 1)] };
        return (pool, blue.Id);
    }

    /// <summary>The change Pools records when an admin resolves <paramref name="pool"/> (subject: the pool's id).</summary>
    private AdminChange Resolved(PoolSummary pool, Guid winner) =>
        new(9, DateTimeOffset.UtcNow, AdminId, "Local admin", "pool-resolved", pool.Id.ToString(),
            JsonSerializer.SerializeToElement(new { pool.Title, WinningOutcomeIds = new[] { winner } }, JsonSerializerOptions.Web));

    /// <summary>Pool settings' only row of Recent changes, once shown.</summary>
    private AngleSharp.Dom.IElement RecentChangeShown()
    {
        Gateway.Answer("/api/pools/admin/config", () => new PoolsSettings(500, 100, 100_000, true, 24));
        Gateway.Answer("/api/pools/admin/templates", Array.Empty<PoolTemplate>);
        var page = Bunit.Render<PoolSettings>();
        return page.WaitForElement("[data-testid=change]");
    }
}
