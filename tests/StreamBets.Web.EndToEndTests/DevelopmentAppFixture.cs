using StreamBets.AppHost.Testing;

namespace StreamBets.Web.EndToEndTests;

/// <summary>
/// The app as <c>./run.sh</c> runs it: local mode with the services in Development, which gives the local admin,
/// the sandbox KYC provider and sandbox deposits (Aspire.Hosting.Testing otherwise runs them in Production).
/// </summary>
public sealed class DevelopmentAppFixture : LocalModeAppFixture
{
    protected override IEnumerable<string> ExtraArguments => ["--environment=Development"];
}
