using System.Net;
using System.Net.Http.Json;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

public sealed record SettingsJson(int DefaultRakeBasisPoints, long DefaultMinStakeMinor, long DefaultMaxStakeMinor, bool OneActivePoolPerChannel, int AutoCancelAfterHours)
{
    /// <summary>The configuration a fresh Pools has (PoolsSettings' defaults), which tests put back.</summary>
    public static readonly SettingsJson Defaults = new(500, 100, 100_000, true, 24);
}

public sealed record ChangeJson(long Id, DateTimeOffset ChangedAt, Guid AdminId, string AdminName, string Action, string Subject, System.Text.Json.JsonElement Details);

public sealed record ChangePageJson(ChangeJson[] Items, string? NextCursor);

public sealed record TemplateJson(string Id, string Title, string[] Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor, string? Version = null);

/// <summary>Dynamic configuration and templates: admins change them over REST and the next pool follows, without a restart.</summary>
public sealed class PoolsAdminTests(PoolsApp app) : IClassFixture<PoolsApp>, IAsyncLifetime
{

    public Task InitializeAsync() => Task.CompletedTask;

    // Each test starts from the defaults, whatever the previous one changed.
    public async Task DisposeAsync()
    {
        using var admin = app.Admin();
        await admin.PutConfigAsync(SettingsJson.Defaults);
    }

    [Fact]
    public async Task The_configuration_starts_at_its_defaults_and_a_change_applies_to_the_next_pool()
    {
        var adminId = Guid.NewGuid();
        using var admin = app.ClientFor(adminId, "admin");
        Assert.Equal(SettingsJson.Defaults, await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));

        var put = await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250, DefaultMinStakeMinor = 50, DefaultMaxStakeMinor = 5_000 });
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal((250, 50, 5_000), (pool.RakeBasisPoints, pool.MinStakeMinor, pool.MaxStakeMinor));
        Assert.Equal(250, (await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"))!.DefaultRakeBasisPoints);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM documents WHERE collection = 'config' AND id = 'pools'"));
        // Who changed the rake, and to what, is in the audit log and in the history admins read back.
        Assert.Contains(app.AuditLog.Lines, line => line.Contains($"Admin {adminId} changed the pools configuration: rake 250 bp, stakes 50 to 5000"));
        var change = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes"))!.Items.First(c => c.AdminId == adminId);
        Assert.Equal(("config-changed", "pools", 250, 50L), (change.Action, change.Subject,
            change.Details.GetProperty("defaultRakeBasisPoints").GetInt32(), change.Details.GetProperty("defaultMinStakeMinor").GetInt64()));
    }

    [Fact]
    public async Task Turning_off_one_active_pool_per_channel_lets_a_channel_run_two()
    {
        using var admin = app.Admin();
        var channel = Requests.NewChannel();
        await admin.PutConfigAsync(SettingsJson.Defaults with { OneActivePoolPerChannel = false });

        await admin.CreatePoolAsync(Requests.Pool(channel));
        var second = await admin.PostAsJsonAsync("/api/pools", Requests.Pool(channel));

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);

        // However many it runs, a viewer's read of the channel's live pools stays bounded: the soonest to lock first.
        for (var i = 2; i <= Apis.PoolsApi.MaxLivePoolsPerChannel; i++)
        {
            await admin.CreatePoolAsync(Requests.Pool(channel));
        }
        var live = (await admin.GetFromJsonAsync<PoolJson[]>($"/api/pools/live?channel=twitch:{channel}"))!;
        Assert.Equal(Apis.PoolsApi.MaxLivePoolsPerChannel, live.Length);
        Assert.Equal(live.OrderBy(p => p.LocksAt).Select(p => p.Id), live.Select(p => p.Id));
    }

    [Fact]
    public async Task An_invalid_configuration_is_refused_field_by_field_and_changes_nothing()
    {
        using var admin = app.Admin();

        var response = await admin.PutAsJsonAsync("/api/pools/admin/config", new SettingsJson(9_000, 0, -5, true, 0));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(
            ["autoCancelAfterHours", "defaultMaxStakeMinor", "defaultMinStakeMinor", "defaultRakeBasisPoints", "version"],
            (await response.ProblemAsync()).Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(SettingsJson.Defaults, await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
    }

    [Fact]
    public async Task Only_admins_reach_the_configuration_and_templates()
    {
        using var streamer = app.NewStreamer(out _);

        Assert.Equal(HttpStatusCode.Forbidden, (await streamer.GetAsync("/api/pools/admin/config")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await streamer.PutAsJsonAsync("/api/pools/admin/templates/x", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await streamer.DeleteAsync("/api/pools/admin/templates/x")).StatusCode);
        // Streamers read the templates to open pools from them; players do not.
        Assert.Equal(HttpStatusCode.OK, (await streamer.GetAsync("/api/pools/templates")).StatusCode);
        using var player = app.Player();
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/api/pools/templates")).StatusCode);
    }

    [Fact]
    public async Task Titles_and_labels_are_stored_composed_and_lookalike_labels_are_refused()
    {
        using var admin = app.Admin();
        using var streamer = app.NewStreamer(out _);
        var id = $"nfc-{Guid.NewGuid():N}"[..20];

        var put = await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", new { title = "Cafe\u0301 quiz", outcomes = new[] { "Cafe\u0301", "Tea" }, bettingWindowSeconds = 60 });
        var pool = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), title: "Cafe\u0301 or tea?", outcomes: ["Cafe\u0301", "Tea"]));
        var lookalikes = await streamer.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel(), outcomes: ["Yes", "Yes\uFE0F"]));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var read = (await admin.GetFromJsonAsync<TemplateJson>($"/api/pools/admin/templates/{id}"))!;
        Assert.Equal(("Café quiz", "Café"), (read.Title, read.Outcomes[0]));
        Assert.Equal(("Café or tea?", "Café"), (pool.Title, pool.Outcomes[0].Label));
        Assert.Equal(HttpStatusCode.BadRequest, lookalikes.StatusCode);
        Assert.Equal(["outcomes[1]"], (await lookalikes.ProblemAsync()).Errors!.Keys);
        await admin.DeleteAsync($"/api/pools/admin/templates/{id}");
    }

    [Fact]
    public async Task A_template_is_stored_listed_used_to_open_a_pool_and_deleted()
    {
        var adminId = Guid.NewGuid();
        using var admin = app.ClientFor(adminId, "admin");
        using var streamer = app.NewStreamer(out _);
        var id = $"round-{Guid.NewGuid():N}"[..20];

        var put = await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", new { title = " Win the round? ", outcomes = new[] { "Yes", "No" }, bettingWindowSeconds = 45, maxStakeMinor = 2_000 });
        var read = await admin.GetFromJsonAsync<TemplateJson>($"/api/pools/admin/templates/{id}");
        var listed = await admin.GetFromJsonAsync<TemplateJson[]>("/api/pools/admin/templates");
        var offered = await streamer.GetFromJsonAsync<TemplateJson[]>("/api/pools/templates");
        var pool = await streamer.CreatePoolAsync(new { channel = new { provider = "youtube", channelId = Requests.NewChannel() }, templateId = id });

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal((id, "Win the round?", 45, (long?)null, (long?)2_000), (read!.Id, read.Title, read.BettingWindowSeconds, read.MinStakeMinor, read.MaxStakeMinor));
        Assert.Equal(["Yes", "No"], read.Outcomes);
        Assert.Contains(listed!, t => t.Id == id);
        var offeredTemplate = Assert.Single(offered!, t => t.Id == id);
        Assert.Equal(("Win the round?", 45, (long?)2_000), (offeredTemplate.Title, offeredTemplate.BettingWindowSeconds, offeredTemplate.MaxStakeMinor));
        Assert.Equal(["Yes", "No"], offeredTemplate.Outcomes);
        Assert.Equal(("Win the round?", id, 45, 100, 2_000), (pool.Title, pool.TemplateId, pool.BettingWindowSeconds, pool.MinStakeMinor, pool.MaxStakeMinor));
        Assert.Equal(["Yes", "No"], pool.Outcomes.Select(o => o.Label));

        var deleted = await admin.DeleteAsync($"/api/pools/admin/templates/{id}");
        var gone = await admin.GetAsync($"/api/pools/admin/templates/{id}");
        var fromDeleted = await streamer.PostAsJsonAsync("/api/pools", new { channel = new { provider = "kick", channelId = Requests.NewChannel() }, templateId = id });

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("https://streambets.dev/problems/template-not-found", (await gone.ProblemAsync()).Type);
        Assert.Equal(HttpStatusCode.BadRequest, fromDeleted.StatusCode);
        Assert.Equal(["templateId"], (await fromDeleted.ProblemAsync()).Errors!.Keys);
        Assert.Contains(app.AuditLog.Lines, line => line == $"Admin {adminId} saved pool template {id}: \"Win the round?\", 2 outcomes, 45 s");
        Assert.Contains(app.AuditLog.Lines, line => line == $"Admin {adminId} deleted pool template {id}");

        // The history, newest first a page at a time: the deletion, then the save with the template's values.
        var first = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=1"))!;
        var mine = new List<ChangeJson>(first.Items);
        for (var cursor = first.NextCursor; cursor is not null && mine.Count(c => c.AdminId == adminId) < 2;)
        {
            var page = (await admin.GetFromJsonAsync<ChangePageJson>($"/api/pools/admin/changes?limit=1&cursor={cursor}"))!;
            mine.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        var ofThisAdmin = mine.Where(c => c.AdminId == adminId).ToList();
        Assert.Equal([("template-deleted", id), ("template-saved", id)], ofThisAdmin.Select(c => (c.Action, c.Subject)));
        Assert.Equal("Win the round?", ofThisAdmin[1].Details.GetProperty("title").GetString());
        Assert.True(ofThisAdmin[0].Id > ofThisAdmin[1].Id);
    }

    [Fact]
    public async Task An_admins_lock_resolve_and_cancel_of_a_pool_are_on_the_record_and_a_streamers_own_are_not()
    {
        var adminId = Guid.NewGuid();
        using var admin = app.ClientFor(adminId, "admin");
        using var streamer = app.NewStreamer(out _);
        var resolved = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var cancelled = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        var ownLock = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));

        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(resolved.Id, "lock")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(resolved.Id, "resolve", new { winningOutcomeIds = new[] { resolved.Outcomes[1].Id } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(cancelled.Id, "cancel")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await streamer.ActAsync(ownLock.Id, "lock")).StatusCode);

        var changes = (await admin.GetFromJsonAsync<ChangePageJson>($"/api/pools/admin/changes?limit={AdminChangesPageMax}"))!.Items;
        var ofThisAdmin = changes.Where(c => c.AdminId == adminId).ToList();
        Assert.Equal([("pool-cancelled", cancelled.Id.ToString()), ("pool-resolved", resolved.Id.ToString()), ("pool-locked", resolved.Id.ToString())],
            ofThisAdmin.Select(c => (c.Action, c.Subject)));
        Assert.Equal(resolved.Outcomes[1].Id, ofThisAdmin[1].Details.GetProperty("winningOutcomeIds")[0].GetGuid());
        Assert.Equal(resolved.Title, ofThisAdmin[1].Details.GetProperty("title").GetString());
        Assert.DoesNotContain(changes, c => c.Subject == ownLock.Id.ToString());
    }

    private const int AdminChangesPageMax = 100;

    [Fact]
    public async Task An_admin_lists_every_channels_live_pools_in_one_call_soonest_lock_first()
    {
        using var admin = app.Admin();
        using var streamer = app.NewStreamer(out _);
        var later = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 900));
        var sooner = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel(), window: 600));
        var finished = await streamer.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        await streamer.ActAsync(finished.Id, "cancel");

        var live = (await admin.GetFromJsonAsync<PoolJson[]>("/api/pools/admin/live?limit=1000"))!;
        var bad = await admin.GetAsync("/api/pools/admin/live?limit=0");
        var refused = await streamer.GetAsync("/api/pools/admin/live");

        var ours = live.Where(p => p.Id == later.Id || p.Id == sooner.Id).Select(p => p.Id);
        Assert.Equal([sooner.Id, later.Id], ours);
        Assert.DoesNotContain(live, p => p.Id == finished.Id);
        Assert.All(live, p => Assert.Contains(p.State, new[] { "open", "locked" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    /// <summary>A limit the framework could not bind as a number was answered its generic 400, with no type and no field.</summary>
    [Theory]
    [InlineData("/api/pools/admin/live?limit=ten")]
    [InlineData("/api/pools/admin/changes?limit=99999999999")]
    [InlineData("/api/pools/channels?limit=ten")]
    [InlineData("/api/pools/channels?limit=99999999999")]
    [InlineData("/api/pools/finished?channel=twitch:1&limit=ten")]
    [InlineData("/api/pools/leaderboards?limit=99999999999")]
    public async Task A_limit_that_is_no_whole_number_in_range_is_an_invalid_request_naming_the_limit(string url)
    {
        using var admin = app.Admin();

        var response = await admin.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ProblemAsync();
        Assert.Equal("https://streambets.dev/problems/invalid-request", problem.Type);
        Assert.Equal(["limit"], problem.Errors!.Keys);
    }

    [Fact]
    public async Task The_change_history_is_for_admins_and_a_bad_query_names_each_field()
    {
        using var admin = app.Admin();
        using var streamer = app.NewStreamer(out _);

        var bad = await admin.GetAsync("/api/pools/admin/changes?limit=0&cursor=abc");
        var refused = await streamer.GetAsync("/api/pools/admin/changes");

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["cursor", "limit"], (await bad.ProblemAsync()).Errors!.Keys.Order());
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task A_configuration_saved_from_a_stale_read_is_refused_and_the_other_admins_rake_stays()
    {
        var (firstId, secondId) = (Guid.NewGuid(), Guid.NewGuid());
        using var first = app.ClientFor(firstId, "admin");
        using var second = app.ClientFor(secondId, "admin");
        var readByBoth = await first.ConfigVersionAsync();
        Assert.Equal(readByBoth, await second.ConfigVersionAsync());

        var secondSave = await second.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250 }, readByBoth);
        var staleSave = await first.PutConfigAsync(SettingsJson.Defaults with { DefaultMaxStakeMinor = 50_000 }, readByBoth);

        Assert.Equal(HttpStatusCode.OK, secondSave.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, staleSave.StatusCode);
        Assert.Equal("https://streambets.dev/problems/config-changed", (await staleSave.ProblemAsync()).Type);
        Assert.Equal(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250 }, await first.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
        var changes = (await first.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items;
        Assert.Contains(changes, c => c.AdminId == secondId);
        Assert.DoesNotContain(changes, c => c.AdminId == firstId);

        // Read again, the first admin's change applies on top of the second's.
        var reread = await first.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250, DefaultMaxStakeMinor = 50_000 });
        Assert.Equal(HttpStatusCode.OK, reread.StatusCode);
    }

    [Fact]
    public async Task A_configuration_change_whose_history_row_failed_is_recorded_by_its_retry()
    {
        var adminId = Guid.NewGuid();
        using var admin = app.ClientFor(adminId, "admin");
        var version = await admin.ConfigVersionAsync();
        HttpResponseMessage failed;
        await using (await RefuseHistoryAsync("pools"))
        {
            failed = await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 300 }, version);
        }
        var retried = await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 300 }, version);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        var recorded = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items.Where(c => c.AdminId == adminId).ToList();
        Assert.Equal(300, Assert.Single(recorded).Details.GetProperty("defaultRakeBasisPoints").GetInt32());
    }

    [Fact]
    public async Task A_template_is_created_only_under_a_new_id_and_edited_only_at_the_version_read()
    {
        using var admin = app.Admin();
        var id = $"map-{Guid.NewGuid():N}"[..20];
        var original = new { title = "Who wins the map?", outcomes = new[] { "Blue", "Red" }, bettingWindowSeconds = 90 };

        var created = await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", original);
        var again = await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", new { title = "Another question?", outcomes = new[] { "A", "B" }, bettingWindowSeconds = 60 });

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("https://streambets.dev/problems/template-exists", (await again.ProblemAsync()).Type);
        var read = (await admin.GetFromJsonAsync<TemplateJson>($"/api/pools/admin/templates/{id}"))!;
        Assert.Equal("Who wins the map?", read.Title);
        // The same values again are a retry, not a second template.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", original)).StatusCode);

        var edited = await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", new { original.title, original.outcomes, bettingWindowSeconds = 120, version = read.Version });
        var stale = await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", new { original.title, original.outcomes, bettingWindowSeconds = 300, version = read.Version });

        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal("https://streambets.dev/problems/template-changed", (await stale.ProblemAsync()).Type);
        Assert.Equal(120, (await admin.GetFromJsonAsync<TemplateJson>($"/api/pools/admin/templates/{id}"))!.BettingWindowSeconds);
    }

    [Fact]
    public async Task A_template_delete_whose_history_row_failed_is_recorded_by_its_retry()
    {
        var adminId = Guid.NewGuid();
        using var admin = app.ClientFor(adminId, "admin");
        var id = $"gone-{Guid.NewGuid():N}"[..20];
        await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}", new { title = "Who wins?", outcomes = new[] { "A", "B" }, bettingWindowSeconds = 60 });
        HttpResponseMessage failed;
        await using (await RefuseHistoryAsync(id))
        {
            failed = await admin.DeleteAsync($"/api/pools/admin/templates/{id}");
        }
        var retried = await admin.DeleteAsync($"/api/pools/admin/templates/{id}");
        var repeated = await admin.DeleteAsync($"/api/pools/admin/templates/{id}");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, retried.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, repeated.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/pools/admin/templates/{id}")).StatusCode);
        var recorded = (await admin.GetFromJsonAsync<ChangePageJson>("/api/pools/admin/changes?limit=100"))!.Items.Where(c => c.Subject == id);
        Assert.Equal(["template-deleted", "template-saved"], recorded.Select(c => c.Action));
        Assert.Contains(app.AuditLog.Lines, line => line == $"Admin {adminId} deleted pool template {id}");
    }

    /// <summary>Until disposed, poolsdb refuses <paramref name="subject"/>'s history rows, as a full disk or a broken connection would.</summary>
    private Task<InjectedFault> RefuseHistoryAsync(string subject) =>
        app.FailWritesAsync("INSERT", "admin_changes", $"NEW.subject = '{subject}'", "history unavailable");

    [Fact]
    public async Task A_template_must_describe_a_valid_pool()
    {
        using var admin = app.Admin();

        var response = await admin.PutAsJsonAsync("/api/pools/admin/templates/Not_A_Slug", new { title = "", outcomes = new[] { "A" }, bettingWindowSeconds = 5 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["bettingWindowSeconds", "id", "outcomes", "title"], (await response.ProblemAsync()).Errors!.Keys.Order(StringComparer.Ordinal));
    }
}
