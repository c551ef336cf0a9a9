using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Benchmarks;

public sealed record BenchmarkPlayer(Guid Id, string Token);

public sealed record PreparedRun(Guid PoolId, Guid[] Outcomes, IReadOnlyList<BenchmarkPlayer> Players, long MinStakeMinor);

/// <summary>
/// Registers and funds the players and creates the pool, through the public REST APIs only (so it works against the
/// self-hosted services and through the gateway alike). Tokens are minted when the signing key is known, otherwise
/// obtained by signing in.
/// </summary>
public static class BenchmarkSetup
{
    public const long MinStakeMinor = 100;
    private const long FundsPerPlayer = 10_000_000;
    private static int _cpf = Random.Shared.Next(100_000_000, 900_000_000);

    public static async Task<PreparedRun> PrepareAsync(BenchmarkOptions options)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var admin = options.Tokens is { } tokens
            ? tokens.Token(Guid.NewGuid(), "admin")
            : await LoginAsync(http, options.UsersUrl, options.AdminEmail, options.AdminPassword);

        var players = new List<BenchmarkPlayer>(options.Players);
        var started = DateTime.UtcNow;
        // The gateway allows anonymous clients 20 requests per second: registration is paced below that there.
        var parallel = options.Tokens is null ? 4 : 16;
        foreach (var chunk in Enumerable.Range(0, options.Players).Chunk(parallel))
        {
            var chunkStarted = DateTime.UtcNow;
            players.AddRange(await Task.WhenAll(chunk.Select(_ => NewPlayerAsync(http, options, admin))));
            if (options.Tokens is null)
            {
                var pace = TimeSpan.FromSeconds(chunk.Length * 2.0 / 18) - (DateTime.UtcNow - chunkStarted);
                if (pace > TimeSpan.Zero)
                {
                    await Task.Delay(pace);
                }
            }
            if (players.Count % 500 < parallel)
            {
                Console.WriteLine($"  {players.Count} players ready ({(DateTime.UtcNow - started).TotalSeconds:F0} s)");
            }
        }

        using var create = new HttpRequestMessage(HttpMethod.Post, $"{options.PoolsUrl}/api/pools")
        {
            Content = JsonContent.Create(new
            {
                channel = new { provider = "twitch", channelId = $"bench-{Guid.NewGuid():N}" },
                title = "Benchmark: last-second rush",
                outcomes = Enumerable.Range(1, options.Outcomes).Select(i => $"Outcome {i}").ToArray(),
                bettingWindowSeconds = 1800,
                minStakeMinor = MinStakeMinor,
                maxStakeMinor = 100_000,
            }),
        };
        create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        var created = await http.SendAsync(create);
        if (!created.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Creating the pool failed: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        }
        var pool = (await created.Content.ReadFromJsonAsync<PoolReply>())!;
        return new PreparedRun(pool.Id, [.. pool.Outcomes.Select(o => o.Id)], players, MinStakeMinor);
    }

    private static async Task<BenchmarkPlayer> NewPlayerAsync(HttpClient http, BenchmarkOptions options, string admin)
    {
        var email = $"bench-{Guid.NewGuid():N}@example.com";
        const string password = "benchmark-password";
        var registered = await SendAsync(http, HttpMethod.Post, $"{options.UsersUrl}/api/users/register", null, new
        {
            email,
            password,
            displayName = "Bench",
            dateOfBirth = "1990-01-01",
            country = "BR",
            cpf = CpfWithCheckDigits(Interlocked.Increment(ref _cpf).ToString("D9", CultureInfo.InvariantCulture)),
        });
        var id = (await registered.Content.ReadFromJsonAsync<IdReply>())!.Id;

        using var credit = new HttpRequestMessage(HttpMethod.Post, $"{options.UsersUrl}/api/users/admin/wallets/{id}/sandbox-credit")
        {
            Content = JsonContent.Create(new { amountMinor = FundsPerPlayer }),
        };
        credit.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        credit.Headers.Add("Idempotency-Key", $"bench-fund-{id}");
        await EnsureAsync(await http.SendAsync(credit));

        var token = options.Tokens is { } tokens ? tokens.Token(id, "player") : await LoginAsync(http, options.UsersUrl, email, password);
        return new BenchmarkPlayer(id, token);
    }

    private static async Task<string> LoginAsync(HttpClient http, string usersUrl, string email, string password)
    {
        var response = await SendAsync(http, HttpMethod.Post, $"{usersUrl}/api/users/login", null, new { email, password });
        return (await response.Content.ReadFromJsonAsync<TokenReply>())!.AccessToken;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string url, string? token, object body)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, url) { Content = JsonContent.Create(body) };
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            var response = await http.SendAsync(request);
            // The gateway's per-client budget: wait as told and try again.
            if ((int)response.StatusCode == 429 && attempt < 20)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            await EnsureAsync(response);
            return response;
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>A valid CPF (Brazilian document number): players with one are KYC tier 1, which may bet.</summary>
    private static string CpfWithCheckDigits(string nineDigits)
    {
        var digits = nineDigits.Select(c => c - '0').ToList();
        foreach (var length in new[] { 9, 10 })
        {
            var sum = 0;
            for (var i = 0; i < length; i++)
            {
                sum += digits[i] * (length + 1 - i);
            }
            var check = sum * 10 % 11;
            digits.Add(check == 10 ? 0 : check);
        }
        return string.Concat(digits);
    }

    private sealed record IdReply(Guid Id);

    private sealed record TokenReply(string AccessToken);

    private sealed record OutcomeReply(Guid Id);

    private sealed record PoolReply(Guid Id, OutcomeReply[] Outcomes);
}
