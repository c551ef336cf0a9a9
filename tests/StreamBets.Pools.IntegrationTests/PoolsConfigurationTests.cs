using System.Net;
using System.Net.Http.Json;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// What a configuration change may and may not do: pools keep the terms they were created with, a change names every
/// field and breaks no template, and pools go on being created and swept when the stored configuration is invalid or
/// the document store fails.
/// </summary>
public sealed class PoolsConfigurationTests(PoolsApp app) : IClassFixture<PoolsApp>, IAsyncLifetime
{
    private static readonly SettingsJson Defaults = new(500, 100, 100_000, true, 24);

    public Task InitializeAsync() => Task.CompletedTask;

    // Each test starts from the defaults, whatever the previous one changed.
    public async Task DisposeAsync()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(Defaults)).StatusCode);
    }

    [Fact]
    public async Task Lowering_auto_cancel_leaves_pools_already_locked_to_the_term_they_were_created_with()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(Defaults with { AutoCancelAfterHours = 72 })).StatusCode);
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(pool.Id, "lock")).StatusCode);
        app.Clock.Advance(TimeSpan.FromHours(30)); // waiting for tomorrow's result

        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(Defaults with { AutoCancelAfterHours = 24 })).StatusCode);
        await Task.Delay(2500); // a few sweeps under the new setting

        Assert.Equal("locked", (await admin.GetPoolAsync(pool.Id)).State);
        app.Clock.Advance(TimeSpan.FromHours(42));
        Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).State == "cancelled"));
        Assert.Equal("abandoned", (await admin.GetPoolAsync(pool.Id)).CancellationReason);
    }

    [Fact]
    public async Task A_pool_stored_before_pools_kept_their_own_term_follows_the_setting()
    {
        using var admin = app.Admin();
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(pool.Id, "lock");
        await app.ExecuteAsync($"UPDATE pools SET auto_cancel_after = NULL, abandons_at = NULL WHERE id = '{pool.Id}'");

        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(Defaults with { AutoCancelAfterHours = 2 })).StatusCode);
        app.Clock.Advance(TimeSpan.FromHours(2));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).State == "cancelled"));
    }

    [Fact]
    public async Task A_configuration_change_that_leaves_out_fields_is_refused_naming_each_and_changes_nothing()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(Defaults with { AutoCancelAfterHours = 72 })).StatusCode);

        var rakeOnly = await admin.PutConfigAsync(new { defaultRakeBasisPoints = 400 });

        Assert.Equal(HttpStatusCode.BadRequest, rakeOnly.StatusCode);
        Assert.Equal(
            ["autoCancelAfterHours", "defaultMaxStakeMinor", "defaultMinStakeMinor", "oneActivePoolPerChannel"],
            (await rakeOnly.ProblemAsync()).Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Defaults with { AutoCancelAfterHours = 72 }, await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
    }

    [Fact]
    public async Task A_stored_configuration_that_breaks_the_rules_is_ignored_for_the_last_valid_one()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(Defaults with { DefaultRakeBasisPoints = 250 })).StatusCode);
        // Written around the API, as a hand-edited document or a bad restore would be.
        await app.ExecuteAsync("""
            UPDATE documents SET body = '{"defaultRakeBasisPoints": 6000, "defaultMinStakeMinor": 100, "defaultMaxStakeMinor": 100000, "oneActivePoolPerChannel": true, "autoCancelAfterHours": 0}'
            WHERE collection = 'config' AND id = 'pools'
            """);
        app.Clock.Advance(TimeSpan.FromSeconds(6)); // past the cache

        var response = await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(250, (await response.Content.ReadFromJsonAsync<PoolJson>())!.RakeBasisPoints);
    }

    [Fact]
    public async Task While_the_document_store_fails_pools_open_and_cancel_with_the_last_settings_read()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(Defaults with { DefaultRakeBasisPoints = 250 })).StatusCode);
        var locked = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await admin.ActAsync(locked.Id, "lock");
        await app.ExecuteAsync("ALTER TABLE documents RENAME TO documents_unavailable");
        try
        {
            app.Clock.Advance(TimeSpan.FromSeconds(6)); // past the cache: the next read goes to the failing store

            var response = await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()));
            app.Clock.Advance(TimeSpan.FromHours(24));

            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal(250, (await response.Content.ReadFromJsonAsync<PoolJson>())!.RakeBasisPoints);
            Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(locked.Id)).State == "cancelled"),
                "The sweeper stopped cancelling abandoned pools while the document store failed.");
        }
        finally
        {
            await app.ExecuteAsync("ALTER TABLE documents_unavailable RENAME TO documents");
        }
    }

    [Fact]
    public async Task A_configuration_under_which_a_template_could_not_open_a_pool_is_refused_naming_the_template()
    {
        using var admin = app.Admin();
        var id = $"small-{Guid.NewGuid():N}"[..20];
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}",
            new { title = "Quick one?", outcomes = new[] { "Yes", "No" }, bettingWindowSeconds = 60, maxStakeMinor = 2_000 })).StatusCode);
        try
        {
            var response = await admin.PutConfigAsync(Defaults with { DefaultMinStakeMinor = 5_000 });

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var problem = await response.ProblemAsync();
            Assert.Equal("https://streambets.dev/problems/config-breaks-templates", problem.Type);
            Assert.Equal([$"templates[{id}].maxStakeMinor"], problem.Errors!.Keys);
            Assert.Equal(Defaults, await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
        }
        finally
        {
            await admin.DeleteAsync($"/api/pools/admin/templates/{id}");
        }
    }

    [Fact]
    public async Task A_template_deleted_at_the_version_read_is_refused_once_another_admin_changed_it()
    {
        using var admin = app.Admin();
        var id = $"del-{Guid.NewGuid():N}"[..20];
        var template = new { title = "Who wins?", outcomes = new[] { "A", "B" }, bettingWindowSeconds = 60 };
        await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", template);
        var read = (await admin.GetFromJsonAsync<TemplateJson>($"/api/pools/admin/templates/{id}"))!;
        await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", new { template.title, template.outcomes, bettingWindowSeconds = 90, version = read.Version });

        var stale = await admin.DeleteAsync($"/api/pools/admin/templates/{id}?version={read.Version}");

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal("https://streambets.dev/problems/template-changed", (await stale.ProblemAsync()).Type);
        var current = (await admin.GetFromJsonAsync<TemplateJson>($"/api/pools/admin/templates/{id}"))!;
        Assert.Equal(90, current.BettingWindowSeconds);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/pools/admin/templates/{id}?version={current.Version}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/pools/admin/templates/{id}")).StatusCode);
    }
}
