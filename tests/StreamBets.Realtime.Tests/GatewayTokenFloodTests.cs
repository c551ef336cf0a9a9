using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// Checking a token's signature costs an RSA verification; a token not seen valid before is counted against its network's
/// anonymous budget first, so a flood of forged tokens is refused before the gateway verifies them.
/// </summary>
public sealed class GatewayTokenFloodTests
{
    [Fact]
    public async Task A_flood_of_forged_tokens_from_one_network_is_refused_before_its_tokens_are_verified()
    {
        await using var gateway = await GatewayHost.StartAsync();
        var network = GatewayHost.AnAddress();
        using var client = gateway.ClientFrom(network);
        using var player = gateway.ClientFrom(network);
        player.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RealtimeStack.Token(Guid.NewGuid()));
        Assert.Equal(HttpStatusCode.OK, (await player.GetAsync("/api/bets/mine")).StatusCode); // the player's token, checked once

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 1_000; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/bets/mine");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ForgedToken());
            using var answer = await client.SendAsync(request);
            statuses.Add(answer.StatusCode);
        }

        // The network's budget less the player's first request (19), were its window not to end mid-test (an hour long).
        var budgetOfTwoWindows = 2 * GatewayHost.AnonymousPermits;
        Assert.InRange(gateway.TokensFailed, 1, budgetOfTwoWindows);
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.TooManyRequests), 1_000 - budgetOfTwoWindows, 1_000);
        // The player on that network goes on: a token checked before costs no anonymous permit, nor another verification.
        var validatedBefore = gateway.TokensValidated;
        for (var i = 0; i < 2 * GatewayHost.AnonymousPermits; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await player.GetAsync("/api/bets/mine")).StatusCode);
        }
        Assert.Equal(validatedBefore + 2 * GatewayHost.AnonymousPermits, gateway.TokensValidated);
        Assert.InRange(gateway.TokensFailed, 1, budgetOfTwoWindows);
    }

    [Fact]
    public async Task A_players_new_token_costs_its_network_one_anonymous_permit_on_its_first_request_only()
    {
        await using var gateway = await GatewayHost.StartAsync();
        var network = GatewayHost.AnAddress();
        using var player = gateway.ClientFrom(network);
        player.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RealtimeStack.Token(Guid.NewGuid()));
        using var anonymous = gateway.ClientFrom(network);

        for (var i = 0; i < 2 * GatewayHost.AnonymousPermits; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await player.GetAsync("/api/bets/mine")).StatusCode);
        }
        var admitted = 0;
        for (var i = 0; i < 2 * GatewayHost.AnonymousPermits; i++)
        {
            admitted += (await anonymous.GetAsync("/api/pools")).StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        Assert.Equal(GatewayHost.AnonymousPermits - 1, admitted);
    }

    /// <summary>A well-formed RS256 token of its own, whose signature is 256 random bytes: only RSA can tell it is forged.</summary>
    private static string ForgedToken()
    {
        var header = Base64UrlEncoder.Encode("""{"alg":"RS256","typ":"JWT"}""");
        var expires = DateTimeOffset.UtcNow.AddMinutes(15).ToUnixTimeSeconds();
        var payload = Base64UrlEncoder.Encode(
            $$"""{"sub":"{{Guid.NewGuid()}}","role":"player","iss":"streambets-users","aud":"streambets","exp":{{expires}},"jti":"{{Guid.NewGuid()}}"}""");
        return $"{header}.{payload}.{Base64UrlEncoder.Encode(Random.Shared.GetItems<byte>(Enumerable.Range(0, 256).Select(b => (byte)b).ToArray(), 256))}";
    }
}
