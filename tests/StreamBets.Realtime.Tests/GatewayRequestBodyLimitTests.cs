using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StreamBets.Gateway.Problems;

namespace StreamBets.Realtime.Tests;

/// <summary>
/// The gateway's <c>Kestrel:Limits:MaxRequestBodySize</c> (1 MB) holds on every proxied route: Kestrel's own default
/// (about 30 MB) would otherwise be streamed on to the services.
/// </summary>
public sealed class GatewayRequestBodyLimitTests
{
    private const long OneMegabyte = 1024 * 1024;

    [Fact]
    public async Task The_gateways_kestrel_takes_its_body_limit_from_its_settings()
    {
        await using var gateway = await GatewayHost.StartAsync();

        var limits = gateway.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.Equal(OneMegabyte, limits.MaxRequestBodySize);
    }

    [Fact]
    public async Task A_body_over_1_mb_is_refused_413_with_problem_details_and_never_reaches_the_service()
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        var path = $"/api/pools/{Guid.NewGuid()}/too-large";

        using var refused = await client.PostAsync(path, Body(2 * OneMegabyte));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal(GatewayProblems.RequestTooLarge, problem.RootElement.GetProperty("type").GetString());
        Assert.Contains("2097152 bytes", problem.RootElement.GetProperty("detail").GetString());
        // Before, YARP sent the request on and then broke its body off: a request sent after it is there by now.
        await AfterARequestSentSinceReachesTheServiceAsync(gateway, client);
        Assert.DoesNotContain(gateway.Upstream.Received, request => request.Path == path);
    }

    [Fact]
    public async Task A_body_of_unknown_length_over_1_mb_is_refused_413_with_problem_details()
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        var path = $"/api/pools/{Guid.NewGuid()}/too-large-chunked";
        var content = Body(2 * OneMegabyte);
        content.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var refused = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal(GatewayProblems.RequestTooLarge, problem.RootElement.GetProperty("type").GetString());
        // Proxied as it comes, so the service sees its start, then the body break off at the limit.
        await AfterARequestSentSinceReachesTheServiceAsync(gateway, client);
        Assert.DoesNotContain(gateway.Upstream.Received, request => request.Path == path && request.BodyBytes > OneMegabyte);
    }

    [Fact]
    public async Task A_body_under_1_mb_is_proxied_whole()
    {
        await using var gateway = await GatewayHost.StartAsync();
        using var client = gateway.ClientFrom(GatewayHost.AnAddress());
        var path = $"/api/pools/{Guid.NewGuid()}/large-enough";

        using var answer = await client.PostAsync(path, Body(500 * 1024));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains(gateway.Upstream.Received, request => request.Path == path && request.BodyBytes == 500 * 1024);
    }

    private static async Task AfterARequestSentSinceReachesTheServiceAsync(GatewayHost gateway, HttpClient client)
    {
        var marker = $"/api/pools/{Guid.NewGuid()}/marker";
        using var answer = await client.GetAsync(marker);
        Assert.Contains(gateway.Upstream.Received, request => request.Path == marker);
    }

    private static ByteArrayContent Body(long bytes)
    {
        var content = new ByteArrayContent(new byte[bytes]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }
}
