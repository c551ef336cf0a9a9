using System.Text.Json;
using StreamBets.Admin.Operations;

namespace StreamBets.Admin.Tests;

/// <summary>Recent changes write amounts in reais, as every amount in the console is (docs/operators.md), not in the centavos stored.</summary>
public sealed class RecentChangesTests
{
    [Fact]
    public void Amounts_in_a_changes_new_values_are_written_in_reais()
    {
        var change = new AdminChange(7, DateTimeOffset.UtcNow, Guid.NewGuid(), "Local admin", "config-saved", "defaults",
            JsonDocument.Parse("""{"defaultRakeBasisPoints":500,"defaultMinStakeMinor":150,"defaultMaxStakeMinor":100000,"minStakeMinor":null,"title":"Who wins?"}""").RootElement);

        Assert.Equal("defaultRakeBasisPoints: 500 · defaultMinStakeMinor: R$1.50 · defaultMaxStakeMinor: R$1,000.00 · title: Who wins?", change.DetailsText);
    }
}
