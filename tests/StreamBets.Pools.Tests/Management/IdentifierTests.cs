using StreamBets.Pools.Configuration;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Tests.Management;

/// <summary>Channel and template ids end where the text ends: a trailing newline would make a second key for the same name.</summary>
public class IdentifierTests
{
    [Theory]
    [InlineData("twitch:streamer1", true)]
    [InlineData("kick:some.channel-2_b", true)]
    [InlineData("twitch:streamer1\n", false)]
    [InlineData("twitch:stream er1", false)]
    [InlineData("vimeo:streamer1", false)]
    public void A_channel_is_a_provider_and_an_id_of_letters_digits_and_few_marks(string text, bool valid)
    {
        Assert.Equal(valid, Channel.TryParse(text) is not null);
    }

    [Theory]
    [InlineData("next-round", true)]
    [InlineData("next-round\n", false)]
    [InlineData("Next-round", false)]
    [InlineData("-next", false)]
    public void A_template_id_is_a_lower_case_slug(string id, bool valid)
    {
        Assert.Equal(valid, PoolTemplates.IsValidId(id));
    }
}
