using StreamBets.Pools.Documents;

namespace StreamBets.Pools.Tests.Documents;

/// <summary>An unreachable MongoDB fails a read in seconds, not the driver's 30 s, so nothing waits on it for long.</summary>
public sealed class MongoClientSettingsTests
{
    [Fact]
    public void MongoDB_gives_up_on_an_unreachable_server_after_5_seconds()
    {
        var settings = DocumentStoreExtensions.MongoClientSettingsFor("mongodb://mongo.invalid:27017");

        Assert.Equal(TimeSpan.FromSeconds(5), settings.ServerSelectionTimeout);
    }

    [Fact]
    public void A_timeout_the_connection_string_sets_is_kept()
    {
        var settings = DocumentStoreExtensions.MongoClientSettingsFor("mongodb://mongo.invalid:27017/?serverSelectionTimeoutMS=12000");

        Assert.Equal(TimeSpan.FromSeconds(12), settings.ServerSelectionTimeout);
    }
}
