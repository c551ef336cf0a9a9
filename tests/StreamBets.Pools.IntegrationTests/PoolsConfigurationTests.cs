using System.Net;
using System.Net.Http.Json;
using StreamBets.Pools.Configuration;
using StreamBets.Testing;

namespace StreamBets.Pools.IntegrationTests;

/// <summary>
/// What a configuration change may and may not do: pools keep the terms they were created with, a change names every
/// field and breaks no template, and pools go on being created and swept when the stored configuration is invalid or
/// the document store fails.
/// </summary>
public sealed class PoolsConfigurationTests(PoolsApp app) : IClassFixture<PoolsApp>, IAsyncLifetime
{

    public Task InitializeAsync() => Task.CompletedTask;

    // Each test starts from the defaults, whatever the previous one changed.
    public async Task DisposeAsync()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults)).StatusCode);
    }

    [Fact]
    public async Task Lowering_auto_cancel_leaves_pools_already_locked_to_the_term_they_were_created_with()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { AutoCancelAfterHours = 72 })).StatusCode);
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(pool.Id, "lock")).StatusCode);
        app.Clock.Advance(TimeSpan.FromHours(30)); // waiting for tomorrow's result

        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { AutoCancelAfterHours = 24 })).StatusCode);
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

        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { AutoCancelAfterHours = 2 })).StatusCode);
        app.Clock.Advance(TimeSpan.FromHours(2));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).State == "cancelled"));
    }

    [Fact]
    public async Task A_pool_locked_by_a_replica_that_writes_no_deadline_cancels_after_its_own_term()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { AutoCancelAfterHours = 2 })).StatusCode);
        var pool = await admin.CreatePoolAsync(Requests.Pool(Requests.NewChannel()));
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.ActAsync(pool.Id, "lock")).StatusCode);
        // Locked by a replica still running the code before schema 012, during a rolling deploy: it keeps the term the
        // pool was created with, but writes no abandons_at.
        await app.ExecuteAsync($"UPDATE pools SET abandons_at = NULL WHERE id = '{pool.Id}'");

        app.Clock.Advance(TimeSpan.FromHours(2));

        Assert.True(await PoolsApp.EventuallyAsync(async () => (await admin.GetPoolAsync(pool.Id)).State == "cancelled"),
            "A pool locked without its deadline written was never auto-cancelled.");
        Assert.Equal("abandoned", (await admin.GetPoolAsync(pool.Id)).CancellationReason);
    }

    [Fact]
    public async Task A_configuration_change_that_leaves_out_fields_is_refused_naming_each_and_changes_nothing()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { AutoCancelAfterHours = 72 })).StatusCode);

        var rakeOnly = await admin.PutConfigAsync(new { defaultRakeBasisPoints = 400 });

        Assert.Equal(HttpStatusCode.BadRequest, rakeOnly.StatusCode);
        Assert.Equal(
            ["autoCancelAfterHours", "defaultMaxStakeMinor", "defaultMinStakeMinor", "oneActivePoolPerChannel"],
            (await rakeOnly.ProblemAsync()).Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(SettingsJson.Defaults with { AutoCancelAfterHours = 72 }, await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
    }

    [Fact]
    public async Task A_stored_configuration_that_breaks_the_rules_is_ignored_for_the_last_valid_one()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250 })).StatusCode);
        await StoreAroundTheApiAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 6000, AutoCancelAfterHours = 0 });
        app.Clock.Advance(TimeSpan.FromSeconds(6)); // past the cache

        var response = await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(250, (await response.Content.ReadFromJsonAsync<PoolJson>())!.RakeBasisPoints);
    }

    [Fact]
    public async Task An_auto_cancel_term_too_long_for_any_clock_is_refused_as_invalid()
    {
        using var admin = app.Admin();

        var response = await admin.PutConfigAsync(SettingsJson.Defaults with { AutoCancelAfterHours = int.MaxValue });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["autoCancelAfterHours"], (await response.ProblemAsync()).Errors!.Keys);
    }

    [Fact]
    public async Task A_stored_auto_cancel_term_too_long_for_any_clock_is_ignored_for_the_last_valid_configuration()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250 })).StatusCode);
        await StoreAroundTheApiAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 400, AutoCancelAfterHours = int.MaxValue });
        app.Clock.Advance(TimeSpan.FromSeconds(6)); // past the cache

        var response = await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel()));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(250, (await response.Content.ReadFromJsonAsync<PoolJson>())!.RakeBasisPoints);
    }

    [Fact]
    public async Task Admins_read_an_invalid_stored_configuration_as_the_one_in_force_flagged_invalid_and_can_replace_it()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250 })).StatusCode);
        await admin.PostAsJsonAsync("/api/pools", Requests.Pool(Requests.NewChannel())); // in force on this replica
        await StoreAroundTheApiAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 6000 });

        var read = await admin.GetFromJsonAsync<ConfigReadJson>("/api/pools/admin/config");

        Assert.NotNull(read);
        Assert.Equal(250, read.DefaultRakeBasisPoints);
        Assert.True(read.StoredConfigInvalid);
        Assert.Equal(["defaultRakeBasisPoints"], read.StoredConfigProblems!.Keys);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 300 }, read.Version)).StatusCode);
        var fixedRead = await admin.GetFromJsonAsync<ConfigReadJson>("/api/pools/admin/config");
        Assert.Equal(300, fixedRead!.DefaultRakeBasisPoints);
        Assert.False(fixedRead.StoredConfigInvalid);
    }

    [Fact]
    public async Task A_stored_configuration_that_is_no_configuration_at_all_can_be_read_and_replaced()
    {
        using var admin = app.Admin();
        await app.ExecuteAsync("""
            INSERT INTO documents (collection, id, body) VALUES ('config', 'pools', '"not a configuration"')
            ON CONFLICT (collection, id) DO UPDATE SET body = EXCLUDED.body
            """);

        var read = await admin.GetAsync("/api/pools/admin/config");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var config = (await read.Content.ReadFromJsonAsync<ConfigReadJson>())!;
        Assert.True(config.StoredConfigInvalid);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 300 }, config.Version)).StatusCode);
        Assert.Equal(SettingsJson.Defaults with { DefaultRakeBasisPoints = 300 }, await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
    }

    [Fact]
    public async Task While_the_document_store_fails_pools_open_and_cancel_with_the_last_settings_read()
    {
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 250 })).StatusCode);
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
            var response = await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultMinStakeMinor = 5_000 });

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var problem = await response.ProblemAsync();
            Assert.Equal("https://streambets.dev/problems/config-breaks-templates", problem.Type);
            Assert.Equal([$"templates[{id}].maxStakeMinor"], problem.Errors!.Keys);
            Assert.Equal(SettingsJson.Defaults, await admin.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
        }
        finally
        {
            await admin.DeleteAsync($"/api/pools/admin/templates/{id}");
        }
    }

    [Fact]
    public async Task A_template_already_broken_under_the_current_configuration_does_not_hold_up_an_unrelated_change()
    {
        using var admin = app.Admin();
        var id = $"broken-{Guid.NewGuid():N}"[..20];
        // Written around the API: no pool can be opened from it under any configuration.
        await app.ExecuteAsync($$"""
            INSERT INTO documents (collection, id, body)
            VALUES ('templates', '{{id}}', '{"title": "Quick one?", "outcomes": ["Yes", "No"], "bettingWindowSeconds": 1}')
            """);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 400 })).StatusCode);
        }
        finally
        {
            await app.ExecuteAsync($"DELETE FROM documents WHERE collection = 'templates' AND id = '{id}'");
        }
    }

    [Fact]
    public async Task A_stored_template_that_is_no_template_does_not_hold_up_a_configuration_change()
    {
        using var admin = app.Admin();
        var id = $"junk-{Guid.NewGuid():N}"[..20];
        await app.ExecuteAsync($$"""INSERT INTO documents (collection, id, body) VALUES ('templates', '{{id}}', '{"title": 42, "outcomes": "Yes"}')""");
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 400 })).StatusCode);
        }
        finally
        {
            await app.ExecuteAsync($"DELETE FROM documents WHERE collection = 'templates' AND id = '{id}'");
        }
    }

    [Theory]
    [InlineData("""{"title": 1}""")]
    [InlineData("null")]
    [InlineData("""["Yes", "No"]""")]
    public async Task A_stored_template_that_is_no_template_is_left_out_of_the_list_and_opens_no_pool(string body)
    {
        using var admin = app.Admin();
        using var streamer = app.NewStreamer(out _);
        var good = $"good-{Guid.NewGuid():N}"[..20];
        var junk = $"junk-{Guid.NewGuid():N}"[..20];
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/pools/admin/templates/{good}",
            new { title = "Who wins?", outcomes = new[] { "A", "B" }, bettingWindowSeconds = 60 })).StatusCode);
        await StoreTemplateAroundTheApiAsync(junk, body);
        try
        {
            var offered = await streamer.GetAsync("/api/pools/templates");
            var listed = await admin.GetAsync("/api/pools/admin/templates");
            var opened = await streamer.PostAsJsonAsync("/api/pools", new { channel = new { provider = "twitch", channelId = Requests.NewChannel() }, templateId = junk });

            Assert.Equal(HttpStatusCode.OK, offered.StatusCode);
            var ids = (await offered.Content.ReadFromJsonAsync<TemplateJson[]>())!.Select(t => t.Id).ToArray();
            Assert.Contains(good, ids);
            Assert.DoesNotContain(junk, ids);
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            Assert.DoesNotContain(junk, (await listed.Content.ReadFromJsonAsync<TemplateJson[]>())!.Select(t => t.Id));
            Assert.Equal(HttpStatusCode.Conflict, opened.StatusCode);
            var problem = await opened.ProblemAsync();
            Assert.Equal("https://streambets.dev/problems/template-unreadable", problem.Type);
            Assert.Contains(junk, problem.Detail);
        }
        finally
        {
            await app.ExecuteAsync($"DELETE FROM documents WHERE collection = 'templates' AND id IN ('{good}', '{junk}')");
        }
    }

    [Fact]
    public async Task A_stored_template_that_is_no_template_is_read_as_a_problem_with_the_version_to_replace_it_at()
    {
        using var admin = app.Admin();
        var id = $"junk-{Guid.NewGuid():N}"[..20];
        await StoreTemplateAroundTheApiAsync(id, """{"title": 1}""");
        try
        {
            var read = await admin.GetAsync($"/api/pools/admin/templates/{id}");
            Assert.Equal(HttpStatusCode.Conflict, read.StatusCode);
            var problem = await read.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
            Assert.Equal("https://streambets.dev/problems/template-unreadable", problem.GetProperty("type").GetString());
            Assert.Equal(id, problem.GetProperty("templateId").GetString());
            var version = problem.GetProperty("version").GetString();

            var repaired = await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}",
                new { title = "Who wins?", outcomes = new[] { "A", "B" }, bettingWindowSeconds = 60, version });

            Assert.Equal(HttpStatusCode.OK, repaired.StatusCode);
            Assert.Equal("Who wins?", (await admin.GetFromJsonAsync<TemplateJson>($"/api/pools/admin/templates/{id}"))!.Title);
        }
        finally
        {
            await app.ExecuteAsync($"DELETE FROM documents WHERE collection = 'templates' AND id = '{id}'");
        }
    }

    [Fact]
    public async Task A_stored_template_that_is_no_template_is_deleted_at_the_version_read_and_not_at_another()
    {
        using var admin = app.Admin();
        var id = $"junk-{Guid.NewGuid():N}"[..20];
        await StoreTemplateAroundTheApiAsync(id, "null");
        try
        {
            var read = await admin.GetAsync($"/api/pools/admin/templates/{id}");
            var version = (await read.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("version").GetString();

            var stale = await admin.DeleteAsync($"/api/pools/admin/templates/{id}?version=0000");
            var deleted = await admin.DeleteAsync($"/api/pools/admin/templates/{id}?version={version}");

            Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
            Assert.Equal("https://streambets.dev/problems/template-changed", (await stale.ProblemAsync()).Type);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/pools/admin/templates/{id}")).StatusCode);
        }
        finally
        {
            await app.ExecuteAsync($"DELETE FROM documents WHERE collection = 'templates' AND id = '{id}'");
        }
    }

    [Fact]
    public async Task A_stale_configuration_change_is_told_another_admin_changed_it_before_what_it_would_break()
    {
        using var admin = app.Admin();
        var id = $"small-{Guid.NewGuid():N}"[..20];
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/pools/admin/templates/{id}",
            new { title = "Quick one?", outcomes = new[] { "Yes", "No" }, bettingWindowSeconds = 60, maxStakeMinor = 2_000 })).StatusCode);
        try
        {
            var staleVersion = await admin.ConfigVersionAsync();
            Assert.Equal(HttpStatusCode.OK, (await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 400 })).StatusCode);

            var response = await admin.PutConfigAsync(SettingsJson.Defaults with { DefaultMinStakeMinor = 5_000 }, staleVersion);

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("https://streambets.dev/problems/config-changed", (await response.ProblemAsync()).Type);
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

    [Fact]
    public async Task A_template_saved_while_a_configuration_change_is_being_written_is_checked_against_the_new_configuration()
    {
        using var first = app.Admin();
        using var second = app.Admin();
        var id = $"small-{Guid.NewGuid():N}"[..20];
        try
        {
            HttpResponseMessage configSave, templateSave;
            await using (var pause = await PauseConfigWriteAsync())
            {
                // The change has found no template it breaks and is writing when the other admin saves one it would break.
                var configSaving = first.PutConfigAsync(SettingsJson.Defaults with { DefaultMinStakeMinor = 5_000 });
                await pause.HeldAsync(configSaving);
                Assert.False(configSaving.IsCompleted);
                var templateSaving = second.PutAsJsonAsync($"/api/pools/admin/templates/{id}", TemplateWithMaxStake(2_000));
                await WaitingForItsTurnOrDoneAsync(templateSaving);
                await pause.ReleaseAsync();
                (configSave, templateSave) = (await configSaving, await templateSaving);
            }

            Assert.Equal(HttpStatusCode.OK, configSave.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, templateSave.StatusCode);
            Assert.Equal(["maxStakeMinor"], (await templateSave.ProblemAsync()).Errors!.Keys);
            Assert.Equal(HttpStatusCode.NotFound, (await first.GetAsync($"/api/pools/admin/templates/{id}")).StatusCode);
            Assert.Equal(5_000, (await first.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"))!.DefaultMinStakeMinor);
        }
        finally
        {
            await first.DeleteAsync($"/api/pools/admin/templates/{id}");
        }
    }

    [Fact]
    public async Task A_configuration_change_made_while_a_template_is_being_written_is_checked_against_that_template()
    {
        using var first = app.Admin();
        using var second = app.Admin();
        var id = $"small-{Guid.NewGuid():N}"[..20];
        try
        {
            HttpResponseMessage templateSave, configSave;
            await using (var pause = await app.PauseWritesAsync("documents", $"NEW.collection = 'templates' AND NEW.id = '{id}'", "INSERT"))
            {
                // The template is valid under the stored configuration and is being written when the other admin raises the minimum stake above its maximum.
                var templateSaving = first.PutAsJsonAsync($"/api/pools/admin/templates/{id}", TemplateWithMaxStake(2_000));
                await pause.HeldAsync(templateSaving);
                Assert.False(templateSaving.IsCompleted);
                var configSaving = second.PutConfigAsync(SettingsJson.Defaults with { DefaultMinStakeMinor = 5_000 });
                await WaitingForItsTurnOrDoneAsync(configSaving);
                await pause.ReleaseAsync();
                (templateSave, configSave) = (await templateSaving, await configSaving);
            }

            Assert.Equal(HttpStatusCode.OK, templateSave.StatusCode);
            Assert.Equal(HttpStatusCode.Conflict, configSave.StatusCode);
            var problem = await configSave.ProblemAsync();
            Assert.Equal("https://streambets.dev/problems/config-breaks-templates", problem.Type);
            Assert.Equal([$"templates[{id}].maxStakeMinor"], problem.Errors!.Keys);
            Assert.Equal(SettingsJson.Defaults, await first.GetFromJsonAsync<SettingsJson>("/api/pools/admin/config"));
        }
        finally
        {
            await first.DeleteAsync($"/api/pools/admin/templates/{id}");
        }
    }

    [Fact]
    public async Task A_save_kept_waiting_too_long_by_another_admins_save_is_answered_503_and_saves_nothing()
    {
        using var first = app.Admin();
        using var second = app.Admin();
        var id = $"late-{Guid.NewGuid():N}"[..20];
        try
        {
            HttpResponseMessage configSave, templateSave;
            await using (var pause = await PauseConfigWriteAsync())
            {
                var configSaving = first.PutConfigAsync(SettingsJson.Defaults with { DefaultRakeBasisPoints = 400 });
                await pause.HeldAsync(configSaving);
                Assert.False(configSaving.IsCompleted);
                templateSave = await second.PutAsJsonAsync($"/api/pools/admin/templates/{id}", TemplateWithMaxStake(50_000));
                await pause.ReleaseAsync();
                configSave = await configSaving;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, templateSave.StatusCode);
            var problem = await templateSave.ProblemAsync();
            Assert.Equal("https://streambets.dev/problems/admin-save-busy", problem.Type);
            Assert.Equal(503, problem.Status);
            Assert.Equal(HttpStatusCode.OK, configSave.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await first.GetAsync($"/api/pools/admin/templates/{id}")).StatusCode);
        }
        finally
        {
            await first.DeleteAsync($"/api/pools/admin/templates/{id}");
        }
    }

    [Fact]
    public async Task A_template_with_an_invalid_id_is_refused_at_once_even_while_another_save_holds_the_turn()
    {
        using var admin = app.Admin();
        await using var holder = new Npgsql.NpgsqlConnection(app.ConnectionString + ";Pooling=false"); // closing it ends the session, and its lock
        await holder.OpenAsync();
        await using (var hold = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_lock({ConfigAndTemplateSaves.LockClass}, 0)", holder))
        {
            await hold.ExecuteNonQueryAsync(); // another admin's save in progress, for as long as this test needs
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var response = await admin.PutAsJsonAsync("/api/pools/admin/templates/Not_A_Slug", new { title = "", outcomes = new[] { "A" }, bettingWindowSeconds = 5 });

        // A 400 naming every broken rule, not "another save in progress, try again" after the 5 s wait: no retry mends it.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["bettingWindowSeconds", "id", "outcomes", "title"], (await response.ProblemAsync()).Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.True(clock.Elapsed < ConfigAndTemplateSaves.WaitAtMost, $"The refusal waited {clock.Elapsed.TotalSeconds:F1} s for the save turn.");
    }

    // An insert too: no configuration is stored until the first change away from the defaults.
    private Task<WritePause> PauseConfigWriteAsync() => app.PauseWritesAsync("documents", "NEW.collection = 'config'", "INSERT OR UPDATE");

    private static object TemplateWithMaxStake(long maxStakeMinor) =>
        new { title = "Quick one?", outcomes = new[] { "Yes", "No" }, bettingWindowSeconds = 60, maxStakeMinor };

    /// <summary>Returns once <paramref name="save"/> waits for another configuration or template save to finish (or has finished itself).</summary>
    private Task WaitingForItsTurnOrDoneAsync(Task save) => app.BlockedOrDoneAsync(save, $"""
        EXISTS (SELECT 1 FROM pg_locks AS l
                WHERE l.pid = pg_stat_activity.pid AND l.locktype = 'advisory' AND NOT l.granted
                  AND l.classid = {ConfigAndTemplateSaves.LockClass} AND l.objsubid = 2)
        """);

    /// <summary>Writes a template document around the API, as a hand edit or a bad restore would.</summary>
    private Task StoreTemplateAroundTheApiAsync(string id, string body) =>
        app.ExecuteAsync($"INSERT INTO documents (collection, id, body) VALUES ('templates', '{id}', '{body}')");

    /// <summary>Writes the configuration document around the API, as a hand edit or a bad restore would.</summary>
    private Task StoreAroundTheApiAsync(SettingsJson values) => app.ExecuteAsync(
        $"UPDATE documents SET body = '{System.Text.Json.JsonSerializer.Serialize(values, System.Text.Json.JsonSerializerOptions.Web)}' WHERE collection = 'config' AND id = 'pools'");
}

/// <summary>GET /api/pools/admin/config with what it says about the stored document.</summary>
public sealed record ConfigReadJson(
    int DefaultRakeBasisPoints, long DefaultMinStakeMinor, long DefaultMaxStakeMinor, bool OneActivePoolPerChannel, int AutoCancelAfterHours, string Version,
    bool StoredConfigInvalid, Dictionary<string, string[]>? StoredConfigProblems);
