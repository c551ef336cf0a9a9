using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.TestHost;
using OpenTelemetry.Trace;

namespace StreamBets.Users.Tests;

/// <summary>What a service built with the ServiceDefaults exports as traces (its store calls, here).</summary>
public sealed class TelemetryTests(LedgerTestHost host) : IClassFixture<LedgerTestHost>
{
    private const string RedisSource = "OpenTelemetry.Instrumentation.StackExchangeRedis";

    [Fact]
    public async Task Background_polls_of_the_stores_are_not_exported_but_a_requests_store_calls_are()
    {
        var exported = new List<Activity>();
        var parentlessQueries = 0;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            ActivityStopped = activity =>
            {
                if (activity.ParentSpanId == default)
                {
                    Interlocked.Increment(ref parentlessQueries);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using (var factory = host.Factory.WithWebHostBuilder(web => web.ConfigureTestServices(services =>
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(exported)))))
        {
            using var client = factory.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", LedgerTestHost.Token(Guid.NewGuid()));
            (await client.GetAsync("/api/users/me/wallet")).EnsureSuccessStatusCode();

            // The outbox relay and the sandbox KYC completer poll PostgreSQL every second with no trace around them.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (Volatile.Read(ref parentlessQueries) < 5 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        // The host is disposed: its exporter has flushed and nothing adds to the list any more.
        Assert.True(parentlessQueries >= 5, $"expected background polls, saw {parentlessQueries} parentless queries");
        var storeSpans = exported.Where(span => span.Source.Name is "Npgsql" or RedisSource).ToList();
        Assert.Contains(storeSpans, span => span.Source.Name == "Npgsql" && span.ParentSpanId != default);
        Assert.DoesNotContain(storeSpans, span => span.ParentSpanId == default);
    }
}
