using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StreamBets.Pools.Documents;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// /health covers the document store as far as the replica depends on it: a replica with no pools configuration in
/// force cannot open pools, and one serving on a configuration read before, because the store does not answer or holds
/// an invalid one, misses admins' changes: both are Degraded (200, so a store outage does not take every replica out of
/// rotation); otherwise Healthy.
/// </summary>
public sealed class DocumentStoreHealthTests(DocumentStoreHealthTests.App app) : IClassFixture<DocumentStoreHealthTests.App>
{

    [Fact]
    public async Task A_replica_started_while_the_document_store_fails_is_degraded_until_it_has_read_its_configuration()
    {
        var replica = new App();
        replica.Documents.Down = true;
        await replica.InitializeAsync();
        try
        {
            using var probe = replica.AnonymousClient();
            using var admin = replica.Admin();

            Assert.Equal((HttpStatusCode.OK, "Degraded"), await HealthAsync(probe));
            var refused = await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.EndsWith("/pools-settings-unavailable", (await refused.ProblemAsync()).Type);

            replica.Documents.Down = false;

            Assert.True(await PoolsApp.EventuallyAsync(async () => await HealthAsync(probe) == (HttpStatusCode.OK, "Healthy"), TimeSpan.FromSeconds(30)),
                $"The replica stayed {await HealthAsync(probe)} after the document store answered again.");
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()))).StatusCode);
        }
        finally
        {
            await ((IAsyncLifetime)replica).DisposeAsync();
        }
    }

    [Fact]
    public async Task A_replica_whose_document_store_stops_answering_is_degraded_on_the_configuration_it_read_and_healthy_once_it_answers()
    {
        using var probe = app.AnonymousClient();
        using var admin = app.Admin();
        await HealthyAsync(probe);

        app.Documents.Down = true;
        try
        {
            app.Clock.Advance(TimeSpan.FromSeconds(6)); // past the cache: the sweeper's next read goes to the failing store

            Assert.True(await PoolsApp.EventuallyAsync(async () => await HealthAsync(probe) == (HttpStatusCode.OK, "Degraded"), TimeSpan.FromSeconds(30)),
                $"/health answered {await HealthAsync(probe)} while the document store failed and the configuration read before served.");
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()))).StatusCode);
        }
        finally
        {
            app.Documents.Down = false;
        }
        app.Clock.Advance(TimeSpan.FromSeconds(6));

        await HealthyAsync(probe);
    }

    [Fact]
    public async Task A_replica_whose_stored_configuration_turns_invalid_is_degraded_until_an_admin_replaces_it()
    {
        using var probe = app.AnonymousClient();
        using var admin = app.Admin();
        await HealthyAsync(probe);
        // Values other than those in force, so the document is written (a PUT of the values in force writes nothing).
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250 })).StatusCode);

        await app.ExecuteAsync("""UPDATE documents SET body = '{"defaultRakeBasisPoints": 6000}' WHERE collection = 'config' AND id = 'pools'""");
        app.Clock.Advance(TimeSpan.FromSeconds(6));

        Assert.True(await PoolsApp.EventuallyAsync(async () => await HealthAsync(probe) == (HttpStatusCode.OK, "Degraded"), TimeSpan.FromSeconds(30)),
            $"/health answered {await HealthAsync(probe)} while the stored configuration was invalid.");
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults)).StatusCode);
        await HealthyAsync(probe);
    }

    private static async Task HealthyAsync(HttpClient probe) =>
        Assert.True(await PoolsApp.EventuallyAsync(async () => await HealthAsync(probe) == (HttpStatusCode.OK, "Healthy"), TimeSpan.FromSeconds(30)),
            $"/health answered {await HealthAsync(probe)} with the document store answering.");

    private static async Task<(HttpStatusCode, string)> HealthAsync(HttpClient probe)
    {
        using var response = await probe.GetAsync("/health");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The Pools service whose document store the test can take down: while it is, reads and writes go to a
    /// database the PostgreSQL server does not have, and fail as a store that is unreachable or refuses the service would.</summary>
    public sealed class App : PoolsApp
    {
        public DocumentStoreSwitch Documents { get; } = new();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<IDocumentStore>(sp =>
            {
                var missing = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = $"missing_{Guid.NewGuid():N}" };
                return new SwitchedDocumentStore(Documents, new PostgresDocumentStore(sp.GetRequiredService<NpgsqlDataSource>()),
                    NpgsqlDataSource.Create(missing.ConnectionString));
            }));
        }
    }

    public sealed class DocumentStoreSwitch
    {
        public volatile bool Down;
    }

    /// <summary>The real store while the switch is up, the store of a missing database while it is down.</summary>
    private sealed class SwitchedDocumentStore(DocumentStoreSwitch documents, IDocumentStore real, NpgsqlDataSource missingDatabase)
        : IDocumentStore, IAsyncDisposable
    {
        private readonly PostgresDocumentStore _failing = new(missingDatabase);

        private IDocumentStore Store => documents.Down ? _failing : real;

        public Task<T?> GetAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class =>
            Store.GetAsync<T>(collection, id, cancellationToken);

        public Task PutAsync<T>(string collection, string id, T document, CancellationToken cancellationToken = default) where T : class =>
            Store.PutAsync(collection, id, document, cancellationToken);

        public Task<VersionedDocument<T>?> GetVersionedAsync<T>(string collection, string id, CancellationToken cancellationToken = default) where T : class =>
            Store.GetVersionedAsync<T>(collection, id, cancellationToken);

        public Task<bool> TryPutAsync<T>(string collection, string id, T document, string? expectedVersion, CancellationToken cancellationToken = default)
            where T : class => Store.TryPutAsync(collection, id, document, expectedVersion, cancellationToken);

        public Task<bool> DeleteAsync(string collection, string id, CancellationToken cancellationToken = default) =>
            Store.DeleteAsync(collection, id, cancellationToken);

        public Task<bool> TryDeleteAsync(string collection, string id, string expectedVersion, CancellationToken cancellationToken = default) =>
            Store.TryDeleteAsync(collection, id, expectedVersion, cancellationToken);

        public Task<IReadOnlyList<StoredDocument<T>>> ListAsync<T>(string collection, CancellationToken cancellationToken = default) where T : class =>
            Store.ListAsync<T>(collection, cancellationToken);

        public ValueTask DisposeAsync() => missingDatabase.DisposeAsync();
    }
}
