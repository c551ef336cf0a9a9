using Bunit;
using StackExchange.Redis;
using StreamBets.Admin.Components.Pages;

namespace StreamBets.Admin.Tests;

/// <summary>
/// Every call reads the operator's session tokens from Redis first. Redis down is an outage like the gateway's: the
/// click is answered "did not answer, nothing was changed" (nothing was sent), never an exception that ends the circuit.
/// </summary>
public sealed class SessionStoreOutageTests : ConsoleTest
{
    [Fact]
    public async Task A_click_while_the_session_store_is_down_is_answered_unavailable_and_the_page_lives_on()
    {
        var (page, pool, row) = LivePoolsWithOneToLock();

        // Redis refusing connections, and Redis not answering in time (a RedisTimeoutException is no RedisException).
        foreach (var outage in new Exception[]
        {
            new RedisConnectionException(ConnectionFailureType.UnableToConnect, "No connection is active/available to service this operation"),
            new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent),
        })
        {
            SessionStoreFails(outage);
            await ConfirmAsync(page, row, "Lock");

            if (Bunit.Renderer.UnhandledException.IsCompleted)
            {
                Assert.Fail($"The click threw, which ends the operator's circuit: {await Bunit.Renderer.UnhandledException}");
            }
            var notice = page.Find("[data-testid=problem]");
            Assert.Equal("dependency-unavailable", notice.GetAttribute("data-code"));
            Assert.Contains("Nothing was changed", notice.TextContent);
            Assert.DoesNotContain(Gateway.Requests, request => request.StartsWith("POST", StringComparison.Ordinal));
        }

        SessionStoreFails(null);
        await ConfirmAsync(page, row, "Lock");
        Assert.Contains("is locked", page.Find("[data-testid=message]").TextContent);
        Assert.Empty(page.FindAll("[data-testid=problem]"));
    }
}
