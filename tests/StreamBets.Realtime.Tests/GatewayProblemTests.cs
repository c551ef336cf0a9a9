using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StreamBets.Gateway.Problems;

namespace StreamBets.Realtime.Tests;

/// <summary>Every refusal the gateway writes itself carries a StreamBets problem type a client can switch on, not the
/// RFC's generic one for its status.</summary>
[Collection(StackCollection.Name)]
public sealed class GatewayProblemTests(RealtimeStack stack)
{
    [Fact]
    public async Task A_bet_whose_content_type_is_too_long_to_relay_is_refused_as_an_unsupported_media_type()
    {
        using var client = PlayerClient();
        var content = new StringContent("{}", Encoding.UTF8);
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; profile=" + new string('p', 300 - 26));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets") { Content = content };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());

        using var refused = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        Assert.Equal(GatewayProblems.UnsupportedMediaType, await ProblemTypeAsync(refused));
    }

    [Fact]
    public async Task A_body_charset_dotnet_does_not_know_is_refused_as_an_unsupported_media_type()
    {
        using var client = PlayerClient();
        var content = new StringContent("{}", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=windows-1252");

        using var refused = await client.PostAsync("/api/bets", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        Assert.Equal(GatewayProblems.UnsupportedMediaType, await ProblemTypeAsync(refused));
    }

    [Fact]
    public async Task A_bet_body_the_gateway_cannot_read_is_refused_as_an_invalid_request()
    {
        // A chunk size that is not hex: Kestrel refuses the body as the endpoint reads it (a BadHttpRequestException).
        var gateway = new Uri(stack.Gateway);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(gateway.Host, gateway.Port);
        await using var stream = tcp.GetStream();
        var request = "POST /api/bets HTTP/1.1\r\n"
            + $"Host: {gateway.Authority}\r\n"
            + $"Authorization: Bearer {RealtimeStack.Token(Guid.NewGuid())}\r\n"
            + "Content-Type: application/json\r\n"
            + $"Idempotency-Key: {Guid.NewGuid()}\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "Connection: close\r\n\r\n"
            + "zz\r\n{}\r\n0\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith("HTTP/1.1 400 ", answer);
        Assert.Contains($"\"type\":\"{GatewayProblems.InvalidRequest}\"", answer);
    }

    private HttpClient PlayerClient()
    {
        var client = new HttpClient { BaseAddress = new Uri(stack.Gateway) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RealtimeStack.Token(Guid.NewGuid()));
        return client;
    }

    private static async Task<string?> ProblemTypeAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("type").GetString();
    }
}
