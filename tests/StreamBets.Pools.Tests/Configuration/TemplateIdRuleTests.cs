using StreamBets.Pools.Configuration;

namespace StreamBets.Pools.Tests.Configuration;

public sealed class TemplateIdRuleTests
{
    [Fact]
    public void A_template_id_starting_with_a_dash_is_refused_and_the_rule_says_so()
    {
        Assert.False(PoolTemplates.IsValidId("-quick"));
        Assert.True(PoolTemplates.IsValidId("quick-1"));
        Assert.Contains("starting with a letter or digit", PoolTemplates.IdRule);
    }
}
