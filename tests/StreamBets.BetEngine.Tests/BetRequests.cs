using System.Net.Http.Json;
using System.Text.Json;
using StreamBets.BetEngine.Apis;

namespace StreamBets.BetEngine.Tests;

/// <summary>POST /api/bets as a client would send it, and the parts of the answers the tests read.</summary>
public static class BetRequests
{
    public static async Task<HttpResponseMessage> PlaceAsync(this HttpClient client, TestPool pool, Guid outcomeId, long stakeMinor, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/bets")
        {
            Content = JsonContent.Create(new { poolId = pool.Id, outcomeId, stakeMinor }),
        };
        request.Headers.Add(BetsApi.IdempotencyKeyHeader, key ?? Guid.NewGuid().ToString());
        return await client.SendAsync(request);
    }

    public static async Task<BetView> BetAsync(this HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Expected a bet, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        return (await response.Content.ReadFromJsonAsync<BetView>())!;
    }

    /// <summary>The problem's type, e.g. https://streambets.dev/problems/pool-locked.</summary>
    public static async Task<string?> ProblemTypeAsync(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        return json.RootElement.TryGetProperty("type", out var type) ? type.GetString() : null;
    }

    public static string Problem(string code) => $"https://streambets.dev/problems/{code}";
}
