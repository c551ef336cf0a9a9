using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;

namespace StreamBets.Web.EndToEndTests;

public sealed record TestUser(Guid Id, string Email, string Password, string AccessToken);

public sealed record TestOutcome(Guid Id, string Label);

public sealed record TestPool(Guid Id, string Title, IReadOnlyList<TestOutcome> Outcomes, DateTimeOffset LocksAt);

/// <summary>
/// What the tests do outside the browser, through the gateway's public API exactly as README's walkthrough does:
/// players sign up, the local admin makes a streamer, a third player bets while the browser watches.
/// </summary>
public sealed class GatewayDriver(DistributedApplication app) : IDisposable
{
    public const string AdminEmail = "admin@streambets.local";
    public const string AdminPassword = "local-admin-password";
    public const string Password = "correct-horse-battery";

    private static int _cpfSequence = Random.Shared.Next(100_000_000, 900_000_000);
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(20);
    private readonly HttpClient _http = new() { BaseAddress = app.GetEndpoint("gateway", "http"), Timeout = Timeout.InfiniteTimeSpan };

    public Uri WebUrl => app.GetEndpoint("web", "http");

    /// <summary>The operators' console.</summary>
    public Uri AdminUrl => app.GetEndpoint("admin", "http");

    private static readonly SemaphoreSlim ReadyGate = new(1, 1);
    private static bool _ready;

    /// <summary>
    /// "Running" is not "answering": on a loaded two-core box the services JIT and migrate for minutes after the
    /// fixture returns. Waits (once per run) until the admin can sign in and Users, Pools, the bet engine and the web
    /// app all answer through their public doors.
    /// </summary>
    public async Task WaitUntilReadyAsync()
    {
        await ReadyGate.WaitAsync();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(6);
            using var web = new HttpClient { BaseAddress = WebUrl, Timeout = AttemptTimeout };
            using var console = new HttpClient { BaseAddress = AdminUrl, Timeout = AttemptTimeout };
            while (!_ready)
            {
                try
                {
                    var admin = await SignInAsync(AdminEmail, AdminPassword);
                    using var channels = await SendAsync(HttpMethod.Get, "/api/pools/channels", admin);
                    using var bets = await SendAsync(HttpMethod.Get, "/api/bets/mine", admin);
                    using var signIn = await web.GetAsync("/signin");
                    using var consoleSignIn = await console.GetAsync("/signin");
                    _ready = channels.IsSuccessStatusCode && bets.IsSuccessStatusCode && signIn.IsSuccessStatusCode && consoleSignIn.IsSuccessStatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException && DateTime.UtcNow < deadline)
                {
                }
                if (!_ready)
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException("The app did not answer through the gateway, the web app and the console within 6 minutes.");
                    }
                    await Task.Delay(TimeSpan.FromSeconds(2));
                }
            }
        }
        finally
        {
            ReadyGate.Release();
        }
    }

    /// <summary>A Brazilian adult with a valid CPF: KYC tier 1 at once, so they may deposit and bet.</summary>
    public async Task<TestUser> NewPlayerAsync(string name)
    {
        var email = $"{name}-{Guid.NewGuid():N}@example.com";
        var cpf = NextCpf();
        var registered = await RetryAsync(token => _http.PostAsJsonAsync("/api/users/register", new
        {
            email,
            password = Password,
            displayName = name,
            dateOfBirth = "1994-03-14",
            country = "BR",
            cpf,
        }, token));
        // A retry after a lost answer finds the account the first attempt created.
        if (registered.StatusCode != System.Net.HttpStatusCode.Conflict)
        {
            await EnsureAsync(registered);
        }
        return await SignInAsync(email, Password);
    }

    public async Task<TestUser> SignInAsync(string email, string password)
    {
        var response = await RetryAsync(token => _http.PostAsJsonAsync("/api/users/login", new { email, password }, token));
        await EnsureAsync(response);
        using var tokens = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return new TestUser(tokens.RootElement.GetProperty("userId").GetGuid(), email, password, tokens.RootElement.GetProperty("accessToken").GetString()!);
    }

    /// <summary>
    /// A streamer: registered as a player, then given the role and their Twitch channel by the local admin (a streamer
    /// opens pools only on channels linked to them); signed in again so the token carries the role.
    /// </summary>
    public async Task<TestUser> NewStreamerAsync(string name, string channelId)
    {
        var user = await NewPlayerAsync(name);
        var admin = await SignInAsync(AdminEmail, AdminPassword);
        await EnsureAsync(await SendAsync(HttpMethod.Put, $"/api/users/admin/users/{user.Id}/role", admin, new { role = "streamer" }));
        await EnsureAsync(await SendAsync(HttpMethod.Put, $"/api/pools/admin/channels/twitch/{channelId}", admin, new { ownerId = user.Id }));
        return await SignInAsync(user.Email, user.Password);
    }

    /// <summary>A pool template, as an operator defines it with the local admin.</summary>
    public async Task PutTemplateAsync(string id, string title, string[] outcomes, int windowSeconds)
    {
        var admin = await SignInAsync(AdminEmail, AdminPassword);
        await EnsureAsync(await SendAsync(HttpMethod.Put, $"/api/pools/admin/templates/{id}", admin, new { title, outcomes, bettingWindowSeconds = windowSeconds }));
    }

    public async Task<TestPool> CreatePoolAsync(TestUser streamer, string channelId, string title, string[] outcomes, int windowSeconds = 600)
    {
        var created = await SendAsync(HttpMethod.Post, "/api/pools", streamer, new
        {
            channel = new { provider = "twitch", channelId },
            title,
            outcomes,
            bettingWindowSeconds = windowSeconds,
        });
        // A retry after a lost answer meets the pool the first attempt opened (one active pool per channel).
        if (created.StatusCode != System.Net.HttpStatusCode.Conflict)
        {
            await EnsureAsync(created);
        }
        return await LivePoolAsync(streamer, $"twitch:{channelId}");
    }

    public async Task LockAndResolveAsync(TestUser streamer, TestPool pool, string winner)
    {
        await EnsureAsync(await SendAsync(HttpMethod.Post, $"/api/pools/{pool.Id}/lock", streamer, new { }));
        await EnsureAsync(await SendAsync(HttpMethod.Post, $"/api/pools/{pool.Id}/resolve", streamer,
            new { winningOutcomeIds = new[] { pool.Outcomes.Single(o => o.Label == winner).Id } }));
    }

    public async Task CancelAsync(TestUser streamer, TestPool pool) =>
        await EnsureAsync(await SendAsync(HttpMethod.Post, $"/api/pools/{pool.Id}/cancel", streamer, new { }));

    /// <summary>Starts a sandbox identity check: a last name "Consider" sends it to the operators' review queue (docs/users.md).</summary>
    public async Task StartIdentityCheckAsync(TestUser user, string firstName, string lastName) =>
        await EnsureAsync(await SendAsync(HttpMethod.Post, "/api/users/me/kyc/checks", user, new { firstName, lastName }));

    /// <summary>Waits until the player's check waits in the review queue (the sandbox completes checks after a few seconds).</summary>
    public async Task WaitForKycReviewAsync(TestUser user)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!(await AdminGetAsync("/api/users/admin/kyc/reviews?limit=200")).GetProperty("items").EnumerateArray().Any(r => r.GetProperty("userId").GetGuid() == user.Id))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{user.Email}'s identity check did not reach the review queue in 90 s.");
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Waits (up to 90 s: events, then payouts, on a loaded box) until the pool's settlement has the status.</summary>
    public async Task WaitForSettlementAsync(Guid poolId, string status)
    {
        var admin = await SignInAsync(AdminEmail, AdminPassword);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            using var response = await SendAsync(HttpMethod.Get, $"/api/settlements/{poolId}", admin);
            if (response.IsSuccessStatusCode && (await ReadAsync(response)).GetProperty("status").GetString() == status)
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The settlement of pool {poolId} did not become {status} in 90 s (last answer {(int)response.StatusCode}).");
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>What an admin reads through the API: the operator console's changes, checked behind the browser's back.</summary>
    public async Task<JsonElement> AdminGetAsync(string path)
    {
        var admin = await SignInAsync(AdminEmail, AdminPassword);
        using var response = await SendAsync(HttpMethod.Get, path, admin);
        await EnsureAsync(response);
        return await ReadAsync(response);
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public async Task DepositAsync(TestUser user, long amountMinor) =>
        await EnsureAsync(await SendAsync(HttpMethod.Post, "/api/users/me/wallet/sandbox-deposit", user, new { amountMinor }, idempotencyKey: Guid.NewGuid().ToString()));

    /// <summary>The channel's one live pool.</summary>
    public async Task<TestPool> LivePoolAsync(TestUser user, string channel) => (await LivePoolsAsync(user, channel)).Single();

    public async Task<TestPool[]> LivePoolsAsync(TestUser user, string channel)
    {
        var response = await SendAsync(HttpMethod.Get, $"/api/pools/live?channel={Uri.EscapeDataString(channel)}", user);
        await EnsureAsync(response);
        using var pools = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. pools.RootElement.EnumerateArray().Select(pool => new TestPool(
            pool.GetProperty("id").GetGuid(),
            pool.GetProperty("title").GetString()!,
            [.. pool.GetProperty("outcomes").EnumerateArray().Select(o => new TestOutcome(o.GetProperty("id").GetGuid(), o.GetProperty("label").GetString()!))],
            pool.GetProperty("locksAt").GetDateTimeOffset()))];
    }

    public async Task PlaceBetAsync(TestUser user, TestPool pool, string outcome, long stakeMinor) =>
        await EnsureAsync(await SendAsync(HttpMethod.Post, "/api/bets", user,
            new { poolId = pool.Id, outcomeId = pool.Outcomes.Single(o => o.Label == outcome).Id, stakeMinor }, idempotencyKey: Guid.NewGuid().ToString()));

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, TestUser user, object? body = null, string? idempotencyKey = null) =>
        await RetryAsync(token =>
        {
            var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
            if (idempotencyKey is not null)
            {
                request.Headers.Add("Idempotency-Key", idempotencyKey);
            }
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }
            return _http.SendAsync(request, token);
        });

    /// <summary>
    /// Tries again after a 429 (the gateway's per-second budget: the test's own haste) and after an attempt that got no
    /// answer in time: from a test process a request to DCP's proxy sometimes hangs under load (docs/machine-notes.md).
    /// Every call retried here is idempotent: keys, or a 409 the caller accepts.
    /// </summary>
    private static async Task<HttpResponseMessage> RetryAsync(Func<CancellationToken, Task<HttpResponseMessage>> send)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = new CancellationTokenSource(AttemptTimeout);
            try
            {
                var response = await send(timeout.Token);
                if ((int)response.StatusCode != 429 || attempt == 8)
                {
                    return response;
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && attempt < 8)
            {
            }
            catch (HttpRequestException) when (attempt < 8)
            {
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>A fresh valid CPF (check digits by the Receita Federal's rule), so players never collide on one document per account.</summary>
    private static string NextCpf()
    {
        var digits = Interlocked.Increment(ref _cpfSequence).ToString("D9", System.Globalization.CultureInfo.InvariantCulture).Select(c => c - '0').ToList();
        for (var round = 0; round < 2; round++)
        {
            var weight = digits.Count + 1;
            var sum = digits.Sum(d => d * weight--);
            var check = sum * 10 % 11;
            digits.Add(check == 10 ? 0 : check);
        }
        return string.Concat(digits);
    }

    public void Dispose() => _http.Dispose();
}
