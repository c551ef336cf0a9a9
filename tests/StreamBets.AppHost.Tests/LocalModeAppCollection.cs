using StreamBets.AppHost.Testing;

namespace StreamBets.AppHost.Tests;

/// <summary>xunit wants a collection defined in the assembly whose tests use it; the fixture itself is shared.</summary>
[CollectionDefinition(Name)]
public sealed class LocalModeAppCollection : ICollectionFixture<LocalModeAppFixture>
{
    public const string Name = "StreamBets in local mode";
}
