using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// POST /api/pools with an Idempotency-Key: a create retried after a timeout or a lost answer opens one pool, whether
/// "one active pool per channel" is on (where a retry used to meet its own pool as a 409) or off (where it opened a twin).
/// </summary>
public sealed class PoolCreationIdempotencyTests(PoolsApp app) : IClassFixture<PoolsApp>, IAsyncLifetime
{
    // The headers' names are the contract clients rely on (docs/pools.md), so they are spelt out here.
    private const string KeyHeader = "Idempotency-Key";
    private const string ReplayedHeader = "Idempotent-Replayed";

    public Task InitializeAsync() => Task.CompletedTask;

    // Each test starts from the defaults, whatever the previous one changed.
    public async Task DisposeAsync()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults)).StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Second_request_with_same_idempotency_key_returns_the_first_pool_and_opens_no_other(bool oneActivePoolPerChannel)
    {
        await UseOneActivePoolPerChannelAsync(oneActivePoolPerChannel);
        using var streamer = app.NewStreamer(out _);
        var channel = Requests.NewChannel();
        var key = Guid.NewGuid().ToString();

        var first = await PostAsync(streamer, Requests.Pool(channel), key);
        var retry = await PostAsync(streamer, Requests.Pool(channel), key);

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.StatusCode, retry.StatusCode));
        var pool = (await first.Content.ReadFromJsonAsync<PoolJson>())!;
        var replayed = (await retry.Content.ReadFromJsonAsync<PoolJson>())!;
        Assert.Equal(pool.Id, replayed.Id);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.False(first.Headers.Contains(ReplayedHeader));
        Assert.Equal(["true"], retry.Headers.GetValues(ReplayedHeader));
        await AssertOnePoolOpenedAsync(channel);
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_refused_naming_the_header_and_opens_nothing()
    {
        using var streamer = app.NewStreamer(out var streamerId);
        var channel = Requests.NewChannel();
        var key = Guid.NewGuid().ToString();
        var first = await PostAsync(streamer, Requests.Pool(channel, title: "Who wins round one?"), key);

        var reused = await PostAsync(streamer, Requests.Pool(channel, title: "Who wins round two?"), key);
        var problem = await reused.ProblemAsync();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("https://streambets.dev/problems/idempotency-key-reused", problem.Type);
        Assert.Contains(KeyHeader, problem.Detail);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM pools WHERE created_by = $1", streamerId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("this-key-is-far-too-long-0123456789-0123456789-0123456789-0123456789-0123456789-0123456789-0123456789")]
    public async Task A_malformed_key_is_a_bad_request_naming_the_header_and_opens_nothing(string key)
    {
        using var streamer = app.NewStreamer(out var streamerId);

        var response = await PostAsync(streamer, Requests.Pool(Requests.NewChannel()), key);
        var problem = await response.ProblemAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal([KeyHeader], problem.Errors!.Keys);
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM pools WHERE created_by = $1", streamerId));
    }

    [Fact]
    public async Task The_key_header_sent_twice_is_refused_naming_the_header_and_opens_no_second_pool()
    {
        // Off, so nothing but the key stands between the repeat and a second pool on the channel.
        await UseOneActivePoolPerChannelAsync(false);
        using var streamer = app.NewStreamer(out _);
        var channel = Requests.NewChannel();
        var key = Guid.NewGuid().ToString();
        var first = await PostAsync(streamer, Requests.Pool(channel), key);

        var (status, problem) = await RawPostAsync(streamer, Requests.Pool(channel), $"{KeyHeader}: {key}", $"{KeyHeader}: {key}");
        var retry = await PostAsync(streamer, Requests.Pool(channel), key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("https://streambets.dev/problems/invalid-request", problem.Type);
        Assert.Equal(["Send one Idempotency-Key header per request, not 2."], problem.Errors![KeyHeader]);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<PoolJson>())!.Id, (await retry.Content.ReadFromJsonAsync<PoolJson>())!.Id);
        Assert.Equal(["true"], retry.Headers.GetValues(ReplayedHeader));
        await AssertOnePoolOpenedAsync(channel);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Copies_of_a_request_sent_at_once_open_exactly_one_pool(bool oneActivePoolPerChannel)
    {
        await UseOneActivePoolPerChannelAsync(oneActivePoolPerChannel);
        using var streamer = app.NewStreamer(out _);
        var channel = Requests.NewChannel();
        var key = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostAsync(streamer, Requests.Pool(channel), key)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<PoolJson>())!.Id));
        Assert.Single(ids.Distinct());
        await AssertOnePoolOpenedAsync(channel);
    }

    [Fact]
    public async Task A_key_belongs_to_its_caller_so_another_callers_identical_key_opens_its_own_pool()
    {
        await UseOneActivePoolPerChannelAsync(false);
        using var firstAdmin = app.Admin();
        using var secondAdmin = app.Admin();
        var channel = Requests.NewChannel();
        var key = Guid.NewGuid().ToString();

        var first = await PostAsync(firstAdmin, Requests.Pool(channel), key);
        var other = await PostAsync(secondAdmin, Requests.Pool(channel), key);
        var retry = await PostAsync(firstAdmin, Requests.Pool(channel), key);

        Assert.All(new[] { first, other, retry }, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var firstId = (await first.Content.ReadFromJsonAsync<PoolJson>())!.Id;
        Assert.NotEqual(firstId, (await other.Content.ReadFromJsonAsync<PoolJson>())!.Id);
        Assert.False(other.Headers.Contains(ReplayedHeader));
        Assert.Equal(firstId, (await retry.Content.ReadFromJsonAsync<PoolJson>())!.Id);
        Assert.Equal(2L, await app.ScalarAsync<long>("SELECT count(*) FROM pools WHERE channel_id = $1", channel));
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/pools") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation(KeyHeader, key);
        return client.SendAsync(request);
    }

    /// <summary>
    /// A POST /api/pools written by hand, for what HttpClient would not send: it puts a repeated header's values on one
    /// line. HTTP/1.0, so the answer's body comes whole rather than chunked.
    /// </summary>
    private static async Task<(HttpStatusCode Status, ProblemJson Problem)> RawPostAsync(HttpClient client, object body, params string[] headers)
    {
        var json = JsonSerializer.Serialize(body, JsonSerializerOptions.Web);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(client.BaseAddress!.Host, client.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        var request = new StringBuilder()
            .Append("POST /api/pools HTTP/1.0\r\n")
            .Append($"Host: {client.BaseAddress.Authority}\r\n")
            .Append($"Authorization: {client.DefaultRequestHeaders.Authorization}\r\n")
            .Append("Content-Type: application/json\r\n")
            .Append($"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n");
        foreach (var header in headers)
        {
            request.Append(header).Append("\r\n");
        }
        request.Append("\r\n").Append(json);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var status = (HttpStatusCode)int.Parse(answer.Split(' ', 3)[1]);
        var problem = JsonSerializer.Deserialize<ProblemJson>(answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..], JsonSerializerOptions.Web)!;
        return (status, problem);
    }

    private async Task UseOneActivePoolPerChannelAsync(bool on)
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { OneActivePoolPerChannel = on })).StatusCode);
    }

    /// <summary>One pool on the channel, and one PoolCreated and one PoolOpened written for it.</summary>
    private async Task AssertOnePoolOpenedAsync(string channel)
    {
        var pools = await app.ScalarAsync<long>("SELECT count(*) FROM pools WHERE channel_id = $1", channel);
        var poolId = await app.ScalarAsync<Guid>("SELECT id FROM pools WHERE channel_id = $1 LIMIT 1", channel);
        var created = await app.ScalarAsync<long>(
            "SELECT count(*) FROM test_outbox_audit WHERE event_type = 'streambets.pools.created.v1' AND envelope->'data'->>'channelId' = $1",
            $"twitch:{channel}");
        Assert.Equal((1L, 1L), (pools, created));
        Assert.Equal(["streambets.pools.created.v1", "streambets.pools.opened.v1"], (await app.EventsAsync(poolId)).Select(e => e.Type));
    }
}
