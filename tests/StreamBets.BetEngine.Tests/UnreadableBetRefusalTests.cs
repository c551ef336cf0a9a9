using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StreamBets.BetEngine.Apis;

namespace StreamBets.BetEngine.Tests;

/// <summary>A bet whose body cannot be read is refused with the status and problem type of what went wrong, whoever refuses it.</summary>
[Collection(StackCollection.Name)]
public sealed class UnreadableBetRefusalTests(BetEngineStack stack)
{
    [Theory]
    [InlineData(BetRequestBodyTests.Route.BetEngine)]
    [InlineData(BetRequestBodyTests.Route.Gateway)]
    public async Task A_bet_that_is_not_json_is_refused_415_unsupported_media_type_directly_and_through_the_gateway(BetRequestBodyTests.Route route)
    {
        var player = await stack.NewPlayerAsync();
        using var client = route == BetRequestBodyTests.Route.BetEngine ? stack.BetClient(player) : stack.GatewayClient(player);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets") { Content = new StringContent("stake=250", Encoding.UTF8, "text/plain") };
        request.Headers.Add(BetsApi.IdempotencyKeyHeader, Guid.NewGuid().ToString());

        using var response = await client.SendAsync(request);

        // The Gateway's own 415s (an unknown charset, an overlong Content-Type) carry this type: so does the Bet Engine's.
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(BetRequests.Problem("unsupported-media-type"), await response.ProblemTypeAsync());
    }

    [Fact]
    public async Task A_body_over_kestrels_limit_is_refused_413_not_as_an_invalid_bet()
    {
        var player = await stack.NewPlayerAsync();
        using var betEngine = stack.BetClient(player);
        // Kestrel's default limit is 30 MB: declared past it, the body is refused on the first read, before it is sent.
        const long overLimit = 30_000_001;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(betEngine.BaseAddress!.Host, betEngine.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = $"POST /api/bets HTTP/1.1\r\nHost: {betEngine.BaseAddress.Authority}\r\nAuthorization: Bearer {player.Token}\r\n"
            + $"{BetsApi.IdempotencyKeyHeader}: {Guid.NewGuid()}\r\nContent-Type: application/json\r\nContent-Length: {overLimit}\r\n\r\n{{";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        // The connection closes once answered: the rest of the body is never read.
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.StartsWith("HTTP/1.1 413 ", answer);
        Assert.Contains("Content-Type: application/problem+json", answer, StringComparison.OrdinalIgnoreCase);
        // Written in one chunk, if chunked: the JSON is the text from its first brace to its last.
        using var problem = JsonDocument.Parse(answer[answer.IndexOf('{')..(answer.LastIndexOf('}') + 1)]);
        Assert.Equal(413, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(0, await stack.ScalarAsync("SELECT count(*) FROM bets WHERE user_id = $1", player.Id));
    }
}
