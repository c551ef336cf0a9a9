using System.Net;
using System.Text;
using System.Text.Json;
using StreamBets.BetEngine.Apis;

namespace StreamBets.BetEngine.Tests;

/// <summary>A body the Bet Engine cannot read is an invalid bet like any other: 400 invalid-request, naming the field.</summary>
[Collection(StackCollection.Name)]
public sealed class BetRequestBodyTests(BetEngineStack stack)
{
    public enum Route
    {
        BetEngine,

        /// <summary>Relayed by the Gateway over its bet stream, and answered by the same endpoint.</summary>
        Gateway,
    }

    [Theory]
    [InlineData(Route.BetEngine, """{"poolId":"abc","outcomeId":"{outcome}","stakeMinor":500}""", "poolId")]
    [InlineData(Route.BetEngine, """{"poolId":"{pool}","outcomeId":"{outcome}","stakeMinor":"ten"}""", "stakeMinor")]
    [InlineData(Route.BetEngine, "", "body")]
    // Money is a JSON integer: a number in a string is refused, not read as the web defaults would.
    [InlineData(Route.BetEngine, """{"poolId":"{pool}","outcomeId":"{outcome}","stakeMinor":"500"}""", "stakeMinor")]
    [InlineData(Route.Gateway, """{"poolId":"abc","outcomeId":"{outcome}","stakeMinor":500}""", "poolId")]
    [InlineData(Route.Gateway, """{"poolId":"{pool}","outcomeId":"{outcome}","stakeMinor":"ten"}""", "stakeMinor")]
    [InlineData(Route.Gateway, "", "body")]
    [InlineData(Route.Gateway, """{"poolId":"{pool}","outcomeId":"{outcome}","stakeMinor":"500"}""", "stakeMinor")]
    public async Task A_body_that_cannot_be_read_is_an_invalid_request_naming_the_field_and_nothing_is_stored(Route route, string body, string field)
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync();
        using var client = route == Route.BetEngine ? stack.BetClient(player) : stack.GatewayClient(player);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets")
        {
            Content = new StringContent(body.Replace("{pool}", $"{pool.Id}").Replace("{outcome}", $"{pool.Outcomes[0]}"), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(BetsApi.IdempotencyKeyHeader, Guid.NewGuid().ToString());

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(BetRequests.Problem("invalid-request"), problem.RootElement.GetProperty("type").GetString());
        Assert.NotEmpty(problem.RootElement.GetProperty("errors").GetProperty(field).EnumerateArray().Single().GetString()!);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", player.Id));
        Assert.Equal(100_000, await stack.BalanceAsync(player.Account));
    }

    [Theory]
    [InlineData(Route.BetEngine)]
    [InlineData(Route.Gateway)]
    public async Task A_body_naming_a_4_kb_unknown_field_is_refused_in_a_short_problem_that_still_says_what_is_wrong(Route route)
    {
        var player = await stack.NewPlayerAsync();
        using var client = route == Route.BetEngine ? stack.BetClient(player) : stack.GatewayClient(player);
        // Nearly the largest body the Gateway relays, all of it one property name, which the JSON path of the error
        // keeps: U+0080 is 2 bytes sent and 6 written back (\u0080), so the problem was some 12 KB.
        var name = new string('\u0080', (Gateway.Bets.RelayedBetsApi.MaxBodyBytes - 7) / 2);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets")
        {
            Content = new StringContent("{\"" + name + "\": x}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(BetsApi.IdempotencyKeyHeader, Guid.NewGuid().ToString());

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.InRange(text.Length, 1, 1024);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(BetRequests.Problem("invalid-request"), problem.RootElement.GetProperty("type").GetString());
        var said = problem.RootElement.GetProperty("errors").GetProperty("body").EnumerateArray().Single().GetString()!;
        Assert.StartsWith("The body is not valid JSON for this request at $.\u0080\u0080", said);
        Assert.EndsWith("….", said);
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", player.Id));
    }
}
