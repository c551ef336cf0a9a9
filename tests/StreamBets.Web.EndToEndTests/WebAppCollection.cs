using StreamBets.AppHost.Testing;

namespace StreamBets.Web.EndToEndTests;

/// <summary>The app (started once, minutes on this machine) and the browser are shared by every browser test.</summary>
[CollectionDefinition(Name)]
public sealed class WebAppCollection : ICollectionFixture<LocalModeAppFixture>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "StreamBets web app in the browser";
}
