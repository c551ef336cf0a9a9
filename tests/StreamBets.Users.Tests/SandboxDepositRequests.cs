using System.Net.Http.Json;
using StreamBets.Users.Apis;

namespace StreamBets.Users.Tests;

/// <summary>A player's sandbox deposit and wallet balance, as the deposit tests send and read them.</summary>
public static class SandboxDepositRequests
{
    public static HttpRequestMessage Deposit(long amountMinor, string key) => new(HttpMethod.Post, "/api/users/me/wallet/sandbox-deposit")
    {
        Headers = { { WalletApi.IdempotencyKeyHeader, key } },
        Content = JsonContent.Create(new { amountMinor }),
    };

    public static async Task<long> BalanceAsync(TestPlayer player) =>
        (await player.Client.GetFromJsonAsync<WalletBalanceResponse>("/api/users/me/wallet"))!.BalanceMinor;
}
