using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamBets.Admin.Operations;
using StreamBets.FrontEnd.Auth;
using StreamBets.Testing;

namespace StreamBets.Admin.Tests;

/// <summary>
/// The console's gateway calls are logged (and exported) when refused or unanswered. Finding an account sends the
/// player's email in the query: those records name the call, never the email.
/// </summary>
public sealed class GatewayLogPrivacyTests : ConsoleTest
{
    private const string Email = "alice@example.com";
    private const string Lookup = "/api/users/admin/users";

    private readonly CollectedLogs _logs = new();

    [Fact]
    public async Task Looking_up_an_unregistered_email_logs_the_refusal_without_the_email()
    {
        Gateway.Refuse(Lookup, HttpStatusCode.NotFound,
            new { type = "https://tools.ietf.org/html/rfc9110#section-15.5.5", title = "Not Found", status = 404 });

        var result = await LoggedGateway().FindAccountAsync(Email);

        Assert.Equal("not-found", result.Problem?.Code);
        var refused = Assert.Single(_logs.Records, record => record.EventName == "GatewayRefused");
        Assert.Equal("GET", refused["Method"]);
        Assert.Equal($"{Lookup}?email=*", refused["Path"]);
        Assert.Equal(404, refused["Status"]);
        AssertNoEmailLogged();
    }

    [Fact]
    public async Task A_lookup_the_gateway_never_answered_is_logged_without_the_email()
    {
        Gateway.Throw(Lookup, () => new HttpRequestException("Connection refused (gateway:80)"));

        var result = await LoggedGateway().FindAccountAsync(Email);

        Assert.Equal(503, result.Problem?.Status);
        var unanswered = Assert.Single(_logs.Records, record => record.EventName == "GatewayUnavailable");
        Assert.Equal("GET", unanswered["Method"]);
        Assert.Equal($"{Lookup}?email=*", unanswered["Path"]);
        AssertNoEmailLogged();
    }

    /// <summary>The console's own gateway client for the signed-in admin, logging into <see cref="_logs"/>.</summary>
    private OperatorGateway LoggedGateway()
    {
        var loggers = LoggerFactory.Create(logging => logging.AddProvider(_logs));
        return new OperatorGateway(new Clients(Gateway), Bunit.Services.GetRequiredService<UserSession>(), loggers.CreateLogger<OperatorGateway>());
    }

    private void AssertNoEmailLogged()
    {
        Assert.NotEmpty(_logs.Records);
        foreach (var record in _logs.Records)
        {
            foreach (var part in new[] { "alice", "%40", "example.com" })
            {
                Assert.DoesNotContain(part, record.AllText, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

}
