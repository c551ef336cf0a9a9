using System.Net;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.AppHost.Testing;

namespace StreamBets.AppHost.Tests;

[Collection(LocalModeAppCollection.Name)]
public sealed class LocalModeTests(LocalModeAppFixture fixture)
{
    public static readonly string[] Services = ["users", "betengine", "pools", "settlement", "payments", "integration", "realtime", "analytics"];

    [Fact]
    public void Every_service_of_the_diagram_and_both_front_ends_are_in_the_app()
    {
        Assert.Equal(
            ["admin", "analytics", "betengine", "gateway", "integration", "payments", "pools", "realtime", "settlement", "users", "web"],
            fixture.ProjectNames.Order());
    }

    [Fact]
    public void Local_mode_runs_the_three_local_servers_and_no_container()
    {
        var model = fixture.App.Services.GetRequiredService<DistributedApplicationModel>();
        Assert.Empty(model.Resources.OfType<ContainerResource>());
        Assert.Equal(["clickhouse", "postgres", "redis"], model.Resources.OfType<StreamBets.AppHost.Infrastructure.LocalServerResource>().Select(r => r.Name).Order());
    }

    [Theory]
    [InlineData("users")]
    [InlineData("betengine")]
    [InlineData("pools")]
    [InlineData("settlement")]
    [InlineData("payments")]
    [InlineData("integration")]
    [InlineData("realtime")]
    [InlineData("analytics")]
    [InlineData("web")]
    [InlineData("admin")]
    public async Task Each_service_answers_healthy_directly(string service)
    {
        var (status, body) = await fixture.GetWhenReadyAsync(service, "/health");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body);
    }

    [Theory]
    [InlineData("users")]
    [InlineData("betengine")]
    [InlineData("pools")]
    [InlineData("settlement")]
    [InlineData("payments")]
    [InlineData("integration")]
    [InlineData("realtime")]
    [InlineData("analytics")]
    public async Task Each_service_answers_healthy_through_the_gateway(string service)
    {
        var (status, body) = await fixture.GetWhenReadyAsync("gateway", $"/health/{service}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body);
    }

    [Fact]
    public async Task Gateway_health_answers_200()
    {
        using var client = fixture.App.CreateHttpClient("gateway", "http");
        using var response = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Rest_services_publish_an_openapi_document()
    {
        foreach (var service in new[] { "users", "betengine", "pools", "payments", "integration", "analytics" })
        {
            using var client = fixture.App.CreateHttpClient(service, "http");
            using var response = await client.GetAsync("/openapi/v1.json");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{service} answered {(int)response.StatusCode} for its OpenAPI document.");
            Assert.Contains("\"openapi\"", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task An_unknown_route_through_the_gateway_is_a_problem_details_404()
    {
        using var client = fixture.App.CreateHttpClient("gateway", "http");
        using var response = await client.GetAsync("/api/pools/this-route-does-not-exist");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Gateway_answers_a_burst_beyond_the_limit_with_429_and_retry_after()
    {
        using var client = fixture.App.CreateHttpClient("gateway", "http");
        // The anonymous budget is 20 requests a second per client; 60 at once must overflow it.
        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => client.GetAsync("/api/pools/rate-limit-probe")));
        try
        {
            var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.NotEmpty(limited);
            Assert.All(limited, r =>
            {
                Assert.True(r.Headers.RetryAfter?.Delta is { } delta && delta > TimeSpan.Zero, "429 must carry Retry-After in seconds.");
                Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            });
            Assert.Contains(responses, r => r.StatusCode != HttpStatusCode.TooManyRequests);

            // Let the window pass so the other gateway tests of this collection are not limited.
            await Task.Delay(limited.Max(r => r.Headers.RetryAfter!.Delta!.Value));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public void No_resource_logged_an_error()
    {
        var logs = fixture.ResourceLogLines;
        // Guard against a vacuous pass (session 2 passed on empty logs): every service's own console output must have
        // been collected, not just Aspire's lines about it ("Waiting for resource ...", "Starting process ..."). Every
        // ASP.NET Core app logs "Application started"; redis-server its "Ready to accept connections". PostgreSQL and
        // ClickHouse log only warnings and worse, so they may rightly be silent.
        var unheard = fixture.ProjectNames.Where(name => !Wrote(name, "Application started")).ToList();
        if (!Wrote("redis", "Ready to accept connections"))
        {
            unheard.Add("redis");
        }
        Assert.True(unheard.Count == 0, $"The console output of these resources was not collected: {string.Join(", ", unheard)}.");

        foreach (var (resource, lines) in logs)
        {
            // With the next lines: the console logger puts the message and the exception under "fail: Category[id]".
            var errors = lines.Select((line, i) => (line, i)).Where(l => IsErrorLine(l.line))
                .Select(l => string.Join('\n', lines.Skip(l.i).Take(4))).ToList();
            Assert.True(errors.Count == 0, $"{resource} logged {errors.Count} errors (all lines in bin/.../apphost-logs/{resource}.log):\n{string.Join("\n---\n", errors)}");
        }
    }

    private bool Wrote(string resource, string text) =>
        fixture.ResourceLogLines.GetValueOrDefault(resource)?.Any(line => line.Contains(text, StringComparison.Ordinal)) == true;

    // Services log "fail:"/"crit:" for errors; PostgreSQL writes ERROR/FATAL/PANIC; ClickHouse "<Error>".
    private static bool IsErrorLine(string line) =>
        (line.Contains("fail:", StringComparison.Ordinal) || line.Contains("crit:", StringComparison.Ordinal)
        || line.Contains(" ERROR: ", StringComparison.Ordinal) || line.Contains(" FATAL: ", StringComparison.Ordinal)
        || line.Contains("PANIC", StringComparison.Ordinal) || line.Contains("<Error>", StringComparison.Ordinal))
        && !IsClientHangUp(line) && !IsProbeDuringStart(line);

    // ClickHouse 18.16 logs a client that closed its connection abruptly as an error of its own. During the start a
    // health probe that times out on the busy box does exactly that (seen once in CI, before any service had started).
    private static bool IsClientHangUp(string line) =>
        line.Contains("<Error> ServerErrorHandler", StringComparison.Ordinal) && line.Contains("Connection reset by peer", StringComparison.Ordinal);

    // PostgreSQL answers a connection that arrives in the milliseconds between "listening" and "ready to accept
    // connections" with this FATAL, and logs it. Only the AppHost's health probe connects that early (the services wait
    // for it to pass), so the line is the probe being told "not yet" (seen once in CI, session 27).
    private static bool IsProbeDuringStart(string line) =>
        line.Contains("FATAL:  the database system is starting up", StringComparison.Ordinal);
}
