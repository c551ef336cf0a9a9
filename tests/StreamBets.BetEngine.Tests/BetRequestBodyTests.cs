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
}
