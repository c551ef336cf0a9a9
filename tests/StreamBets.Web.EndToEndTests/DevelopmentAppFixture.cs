using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using StreamBets.AppHost.Testing;

namespace StreamBets.Web.EndToEndTests;

/// <summary>
/// The app as <c>./run.sh</c> runs it: local mode with the services in Development, which gives the local admin,
/// the sandbox KYC provider and sandbox deposits (under Aspire.Hosting.Testing they would run in Production).
/// </summary>
public sealed class DevelopmentAppFixture : LocalModeAppFixture
{
    protected override void Configure(IDistributedApplicationTestingBuilder builder)
    {
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            builder.CreateResourceBuilder(project)
                .WithEnvironment("DOTNET_ENVIRONMENT", "Development")
                .WithEnvironment("ASPNETCORE_ENVIRONMENT", "Development");
        }
    }
}
