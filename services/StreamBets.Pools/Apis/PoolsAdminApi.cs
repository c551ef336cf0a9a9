using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Documents;
using StreamBets.Pools.Lifecycle;

namespace StreamBets.Pools.Apis;

/// <summary>
/// /api/pools/admin: the dynamic configuration and the pool templates, for admins. Both live in the document store
/// (MongoDB or PostgreSQL jsonb) and apply at run time: configuration within seconds, templates at once. Every change
/// is kept with the admin who made it in <see cref="AdminChanges"/> (read back at /changes) and logged (category
/// <see cref="AuditCategory"/>): the rake is money. Admins change both with optimistic concurrency: each is read with a
/// <c>version</c> (<see cref="ValuesVersion"/>) that the change sends back, and a change to values someone else changed
/// meanwhile is refused (409) rather than overwriting theirs. A configuration change and a template save check each
/// other's documents, so they run one at a time (<see cref="ConfigAndTemplateSaves"/>).
/// </summary>
public static partial class PoolsAdminApi
{
    public const string AuditCategory = "StreamBets.Pools.Administration";

    public static IEndpointRouteBuilder MapPoolsAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/pools/admin").WithTags("Pools administration").RequireAuthorization(AuthenticationDefaults.Policies.Admin);
        admin.MapGet("/config", GetConfig).WithName("GetPoolsConfig");
        admin.MapPut("/config", PutConfig).WithName("PutPoolsConfig");
        admin.MapGet("/templates", ListTemplates).WithName("ListPoolTemplates");
        admin.MapGet("/templates/{id}", GetTemplate).WithName("GetPoolTemplate");
        admin.MapPut("/templates/{id}", PutTemplate).WithName("PutPoolTemplate");
        admin.MapDelete("/templates/{id}", DeleteTemplate).WithName("DeletePoolTemplate");
        admin.MapGet("/changes", ListChanges).WithName("ListPoolsAdminChanges");
        admin.MapGet("/live", PoolsApi.GetAllLivePools).WithName("GetAllLivePools");
        return app;
    }

    /// <summary>
    /// The stored configuration and its <c>version</c>. When the stored document is invalid or no configuration at all
    /// (written around the API), the values are the ones in force on this replica (the defaults on a replica that has
    /// none, which refuses pool creation), with <c>storedConfigInvalid</c> and <c>storedConfigProblems</c> saying why; a
    /// PUT at the version answered replaces the document.
    /// </summary>
    public static async Task<Ok<PoolsConfigView>> GetConfig(PoolsSettingsProvider settings, CancellationToken cancellationToken)
    {
        var stored = await settings.ReadAsync(cancellationToken);
        return TypedResults.Ok(PoolsConfigView.Of(stored.Settings, stored.Version, stored.Problems));
    }

    /// <summary>
    /// Replaces the configuration if it is still the one the admin read (<c>version</c>): else 409 config-changed, so a
    /// stale form never overwrites another admin's change. Values already stored are answered as saved: a retry. Every
    /// field is required (a field left out would otherwise change silently), and a change under which a stored template
    /// that opens a pool now could no longer open one is refused (409 config-breaks-templates, naming each). 503
    /// admin-save-busy when another admin's save holds its turn too long.
    /// </summary>
    public static async Task<Results<Ok<PoolsConfigView>, ValidationProblem, ProblemHttpResult>> PutConfig(
        PoolsConfigRequest request, ClaimsPrincipal user, PoolsSettingsProvider settings, IDocumentStore documents, AdminChanges changes,
        NpgsqlDataSource db, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var errors = request.MissingFields().ToDictionary(
            field => field, field => new[] { "Required: a change replaces the whole configuration, so send every field as read, changed or not." });
        var wanted = errors.Count == 0 ? request.ToSettings() : null;
        foreach (var (field, messages) in wanted?.Problems() ?? [])
        {
            errors[field] = messages;
        }
        if (string.IsNullOrEmpty(request.Version))
        {
            errors["version"] = [VersionRule("configuration")];
        }
        if (errors.Count > 0 || wanted is null)
        {
            return PoolProblems.Invalid(errors);
        }

        // Held until the change is written and recorded: a template saved meanwhile is checked against it, not the old one.
        await using var turn = await ConfigAndTemplateSaves.WaitForTurnAsync(db, cancellationToken);
        if (turn is null)
        {
            return AnotherSaveInProgress();
        }
        var stored = await settings.ReadAsync(cancellationToken);
        var details = ConfigDetails(wanted);
        if (stored.IsValid && stored.Settings == wanted)
        {
            // Nothing to write: a save that changes nothing, or the retry of one whose record failed, which records it now.
            if (!AdminChanges.Is(await changes.LastAsync(ConfigSubject, [AdminChanges.ConfigChanged], cancellationToken), AdminChanges.ConfigChanged, details))
            {
                await RecordConfigAsync(user, wanted, details, changes, loggers, cancellationToken);
            }
            return TypedResults.Ok(PoolsConfigView.Of(wanted));
        }
        // A stale form is told so first: what it would break is judged against a configuration its admin never saw.
        if (stored.Version != request.Version)
        {
            return ConfigChangedMeanwhile();
        }
        if (await TemplatesNewlyBrokenAsync(stored.Settings, wanted, documents, loggers, cancellationToken) is { Count: > 0 } broken)
        {
            return PoolProblems.Problem(PoolProblems.ConfigBreaksTemplates,
                $"Under this configuration {broken.Count} template(s) that open a pool now could no longer open one; nothing was saved. Change the configuration or those templates first.",
                new Dictionary<string, object?> { ["errors"] = broken });
        }
        if (!await settings.TryPutAsync(wanted, stored.StoreVersion, cancellationToken))
        {
            return ConfigChangedMeanwhile();
        }
        await RecordConfigAsync(user, wanted, details, changes, loggers, cancellationToken);
        return TypedResults.Ok(PoolsConfigView.Of(wanted));
    }

    private static ProblemHttpResult ConfigChangedMeanwhile() => PoolProblems.Problem(PoolProblems.ConfigChanged,
        "Another admin changed the configuration after you read it; nothing was saved. Read it again to see their change.");

    private const string ConfigSubject = "pools";

    private static ProblemHttpResult AnotherSaveInProgress() => PoolProblems.Problem(PoolProblems.AdminSaveBusy,
        $"Another admin's configuration or template save took longer than {ConfigAndTemplateSaves.WaitAtMost.TotalSeconds:0} s to finish; nothing was saved. Try again.");

    /// <summary>
    /// The broken rules, keyed <c>templates[id].field</c>, of each stored template that makes a valid pool under
    /// <paramref name="current"/> but not under <paramref name="wanted"/>. A template already broken stays the admin's
    /// to fix and does not hold up other changes; one that is no template at all (written around the API) is logged and
    /// skipped.
    /// </summary>
    private static async Task<Dictionary<string, string[]>> TemplatesNewlyBrokenAsync(
        PoolsSettings current, PoolsSettings wanted, IDocumentStore documents, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var broken = new Dictionary<string, string[]>();
        foreach (var stored in await documents.ListAsync<JsonNode>(PoolTemplates.Collection, cancellationToken))
        {
            var template = PoolTemplates.Read(stored.Id, stored.Document, TemplateReader(loggers));
            if (template is null || template.Problems(current).Count > 0)
            {
                continue;
            }
            foreach (var (field, messages) in template.Problems(wanted))
            {
                broken[$"templates[{stored.Id}].{field}"] = messages;
            }
        }
        return broken;
    }

    private static object ConfigDetails(PoolsSettings settings) => new
    {
        settings.DefaultRakeBasisPoints, settings.DefaultMinStakeMinor, settings.DefaultMaxStakeMinor, settings.OneActivePoolPerChannel, settings.AutoCancelAfterHours,
    };

    private static async Task RecordConfigAsync(
        ClaimsPrincipal user, PoolsSettings settings, object details, AdminChanges changes, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await changes.RecordAsync(user, AdminChanges.ConfigChanged, ConfigSubject, details, cancellationToken);
        LogConfigChanged(loggers.CreateLogger(AuditCategory), user.GetUserId(), settings.DefaultRakeBasisPoints, settings.DefaultMinStakeMinor,
            settings.DefaultMaxStakeMinor, settings.OneActivePoolPerChannel, settings.AutoCancelAfterHours);
    }

    private static string VersionRule(string what) =>
        $"Send the version the {what} was read at (GET answers it), so that a change another admin made meanwhile is not overwritten.";

    /// <summary>Every template that is one; a stored document that is no template (written around the API) is logged and left out.</summary>
    public static async Task<Ok<TemplateView[]>> ListTemplates(IDocumentStore documents, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var views = new List<TemplateView>();
        foreach (var stored in await documents.ListAsync<JsonNode>(PoolTemplates.Collection, cancellationToken))
        {
            if (PoolTemplates.Read(stored.Id, stored.Document, TemplateReader(loggers)) is { } template)
            {
                views.Add(TemplateView.Of(stored.Id, template));
            }
        }
        return TypedResults.Ok(views.ToArray());
    }

    /// <summary>One template; a stored document that is no template is answered 409 template-unreadable with the <c>version</c> to replace or delete it at.</summary>
    public static async Task<Results<Ok<TemplateView>, ProblemHttpResult>> GetTemplate(
        string id, IDocumentStore documents, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var stored = PoolTemplates.IsValidId(id) ? await documents.GetVersionedAsync<JsonNode>(PoolTemplates.Collection, id, cancellationToken) : null;
        if (stored is null)
        {
            return TemplateMissing(id);
        }
        return PoolTemplates.Read(id, stored.Document, TemplateReader(loggers)) is { } template
            ? TypedResults.Ok(TemplateView.Of(id, template))
            : PoolProblems.Problem(PoolProblems.TemplateUnreadable,
                $"The stored template \"{id}\" is not a template (it was written around the API). Replace it with a PUT, or remove it with a DELETE, at the version given here.",
                new Dictionary<string, object?> { ["templateId"] = id, ["version"] = PoolTemplates.VersionOf(stored.Document, null) });
    }

    private static ILogger TemplateReader(ILoggerFactory loggers) => loggers.CreateLogger(typeof(PoolsAdminApi).FullName!);

    /// <summary>
    /// Without a <c>version</c>, creates the template (409 template-exists if the id is taken); with the version it was
    /// read at, replaces it (409 template-changed if another admin changed it since, 404 if deleted). Values already
    /// stored are answered as saved: a retry. 503 admin-save-busy when another admin's save holds its turn too long.
    /// </summary>
    public static async Task<Results<Ok<TemplateView>, ValidationProblem, ProblemHttpResult>> PutTemplate(
        string id, PoolTemplateRequest request, ClaimsPrincipal user, IDocumentStore documents, PoolsSettingsProvider settings, AdminChanges changes,
        NpgsqlDataSource db, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var asked = new PoolTemplate(request.Title, request.Outcomes ?? [], request.BettingWindowSeconds, request.MinStakeMinor, request.MaxStakeMinor);
        void AddProblemsUnder(PoolsSettings config)
        {
            foreach (var (field, messages) in asked.Problems(config))
            {
                errors[field] = messages;
            }
        }
        if (!PoolTemplates.IsValidId(id))
        {
            // Refused whatever the configuration, so answered at once, not after waiting for the save turn: the body's
            // rules under the configuration this replica has in force.
            errors["id"] = [PoolTemplates.IdRule];
            AddProblemsUnder(settings.InForce ?? new PoolsSettings());
            return PoolProblems.Invalid(errors);
        }

        // A template must make a valid pool: the same rules, with the stored configuration's stakes and rake where it
        // names none (read now, not from the cache, as a configuration change is checked against the stored templates),
        // in this save's turn: a configuration change waits until the template is written, then checks it.
        await using var turn = await ConfigAndTemplateSaves.WaitForTurnAsync(db, cancellationToken);
        if (turn is null)
        {
            return AnotherSaveInProgress();
        }
        AddProblemsUnder((await settings.ReadAsync(cancellationToken)).Settings);

        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }

        var template = new PoolTemplate(PoolDefinition.StoredForm(request.Title), [.. request.Outcomes!.Select(PoolDefinition.StoredForm)], request.BettingWindowSeconds,
            request.MinStakeMinor, request.MaxStakeMinor);
        // Read as plain JSON, so a stored document that is no template can still be replaced at the version its GET answered.
        var stored = await documents.GetVersionedAsync<JsonNode>(PoolTemplates.Collection, id, cancellationToken);
        var storedTemplate = stored is null ? null : PoolTemplates.Read(id, stored.Document, TemplateReader(loggers));
        var storedVersion = stored is null ? null : PoolTemplates.VersionOf(stored.Document, storedTemplate);
        if (storedTemplate is not null && storedVersion == ValuesVersion.Of(template))
        {
            // Nothing to write: a save that changes nothing, or the retry of one whose record failed, which records it now.
            if (!AdminChanges.Is(await changes.LastAsync(id, TemplateActions, cancellationToken), AdminChanges.TemplateSaved, template))
            {
                await RecordTemplateSavedAsync(user, id, template, changes, loggers, cancellationToken);
            }
            return TypedResults.Ok(TemplateView.Of(id, template));
        }
        if (request.Version is null)
        {
            if (stored is not null || !await documents.TryPutAsync(PoolTemplates.Collection, id, template, expectedVersion: null, cancellationToken))
            {
                return PoolProblems.Problem(PoolProblems.TemplateExists,
                    $"A template with id \"{id}\" already exists; nothing was saved. Edit that one, or choose another id.");
            }
        }
        else if (stored is null)
        {
            return PoolProblems.Problem(PoolProblems.TemplateNotFound, $"No template has id \"{id}\": another admin deleted it after you read it; nothing was saved.");
        }
        else if (storedVersion != request.Version
            || !await documents.TryPutAsync(PoolTemplates.Collection, id, template, stored.Version, cancellationToken))
        {
            return PoolProblems.Problem(PoolProblems.TemplateChanged,
                $"Another admin changed template \"{id}\" after you read it; nothing was saved. Read it again to see their change.");
        }
        await RecordTemplateSavedAsync(user, id, template, changes, loggers, cancellationToken);
        return TypedResults.Ok(TemplateView.Of(id, template));
    }

    private static readonly string[] TemplateActions = [AdminChanges.TemplateSaved, AdminChanges.TemplateDeleted];

    private static async Task RecordTemplateSavedAsync(
        ClaimsPrincipal user, string id, PoolTemplate template, AdminChanges changes, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await changes.RecordAsync(user, AdminChanges.TemplateSaved, id, template, cancellationToken);
        LogTemplateSaved(loggers.CreateLogger(AuditCategory), user.GetUserId(), id, template.Title, template.Outcomes.Count, template.BettingWindowSeconds);
    }

    /// <summary>
    /// Deletes the template and records it. With <c>?version=</c> (as read, as an edit sends it) it deletes only the
    /// template the admin saw: 409 template-changed if another admin changed it since; without it, whatever is stored
    /// (kept for older clients). The documents may live in MongoDB, outside the history's transaction, so a delete
    /// whose record failed is answered 500 with the template gone: its retry finds no template but a history whose last
    /// word on it is a save, and records the deletion then (204), where a plain 404 would leave it unrecorded.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTemplate(
        string id, string? version, ClaimsPrincipal user, IDocumentStore documents, AdminChanges changes, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (!PoolTemplates.IsValidId(id))
        {
            return TemplateMissing(id);
        }
        var deleted = false;
        if (version is null)
        {
            deleted = await documents.DeleteAsync(PoolTemplates.Collection, id, cancellationToken);
        }
        else if (await documents.GetVersionedAsync<JsonNode>(PoolTemplates.Collection, id, cancellationToken) is { } stored)
        {
            // The store's compare-and-delete, so a change saved between this read and the delete is not deleted either.
            // Read as plain JSON, so a stored document that is no template can be removed at the version its GET answered.
            if (PoolTemplates.VersionOf(stored.Document, PoolTemplates.Read(id, stored.Document, TemplateReader(loggers))) != version
                || !await documents.TryDeleteAsync(PoolTemplates.Collection, id, stored.Version, cancellationToken))
            {
                return PoolProblems.Problem(PoolProblems.TemplateChanged,
                    $"Another admin changed template \"{id}\" after you read it; nothing was deleted. Read it again to see their change.");
            }
            deleted = true;
        }
        if (!deleted && (await changes.LastAsync(id, TemplateActions, cancellationToken))?.Action != AdminChanges.TemplateSaved)
        {
            return TemplateMissing(id);
        }
        await changes.RecordAsync(user, AdminChanges.TemplateDeleted, id, new { }, cancellationToken);

        LogTemplateDeleted(loggers.CreateLogger(AuditCategory), user.GetUserId(), id);
        return TypedResults.NoContent();
    }

    /// <summary>Who changed what, newest first, a page at a time (<c>nextCursor</c> for the next).</summary>
    public static async Task<Results<Ok<AdminChangePage>, ValidationProblem>> ListChanges(
        string? cursor, string? limit, AdminChanges changes, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!SequenceCursor.TryParse(cursor, out var before))
        {
            errors["cursor"] = ["The cursor is not one this service issued."];
        }
        var count = QueryLimit.Read(limit, AdminChanges.MaxPageSize, AdminChanges.DefaultPageSize, errors);
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }
        return TypedResults.Ok(await changes.ListAsync(before, count, cancellationToken));
    }

    private static ProblemHttpResult TemplateMissing(string id) => PoolProblems.Problem(PoolProblems.TemplateNotFound, $"No template has id \"{id}\".");

    [LoggerMessage(EventId = 6001, EventName = "PoolsConfigurationChanged", Level = LogLevel.Information,
        Message = "Admin {AdminId} changed the pools configuration: rake {RakeBasisPoints} bp, stakes {MinStakeMinor} to {MaxStakeMinor}, one active pool per channel {OneActivePoolPerChannel}, auto-cancel after {AutoCancelAfterHours} h")]
    private static partial void LogConfigChanged(
        ILogger logger, Guid adminId, int rakeBasisPoints, long minStakeMinor, long maxStakeMinor, bool oneActivePoolPerChannel, int autoCancelAfterHours);

    [LoggerMessage(EventId = 6002, EventName = "PoolTemplateSaved", Level = LogLevel.Information,
        Message = "Admin {AdminId} saved pool template {TemplateId}: \"{Title}\", {Outcomes} outcomes, {BettingWindowSeconds} s")]
    private static partial void LogTemplateSaved(ILogger logger, Guid adminId, string templateId, string title, int outcomes, int bettingWindowSeconds);

    [LoggerMessage(EventId = 6003, EventName = "PoolTemplateDeleted", Level = LogLevel.Information, Message = "Admin {AdminId} deleted pool template {TemplateId}")]
    private static partial void LogTemplateDeleted(ILogger logger, Guid adminId, string templateId);
}

/// <summary>A template as admins and streamers read it; <c>version</c> is what an admin's edit of it sends back.</summary>
public sealed record TemplateView(
    string Id, string Title, IReadOnlyList<string> Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor, string Version)
{
    public static TemplateView Of(string id, PoolTemplate template) =>
        new(id, template.Title, template.Outcomes, template.BettingWindowSeconds, template.MinStakeMinor, template.MaxStakeMinor, ValuesVersion.Of(template));
}

/// <summary>A template to save: no <c>version</c> to create it, the version it was read at to replace it.</summary>
public sealed record PoolTemplateRequest(
    string Title, IReadOnlyList<string>? Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor, string? Version);

/// <summary>
/// The configuration as admins read it; <c>version</c> is what their change sends back. <c>storedConfigInvalid</c> says
/// the stored document breaks the rules or is no configuration (<c>storedConfigProblems</c> say how): the values are
/// then the ones in force, not the stored ones.
/// </summary>
public sealed record PoolsConfigView(
    int DefaultRakeBasisPoints, long DefaultMinStakeMinor, long DefaultMaxStakeMinor, bool OneActivePoolPerChannel, int AutoCancelAfterHours, string Version,
    bool StoredConfigInvalid = false, IReadOnlyDictionary<string, string[]>? StoredConfigProblems = null)
{
    public static PoolsConfigView Of(PoolsSettings settings) => Of(settings, ValuesVersion.Of(settings), null);

    public static PoolsConfigView Of(PoolsSettings settings, string version, IReadOnlyDictionary<string, string[]>? storedProblems) =>
        new(settings.DefaultRakeBasisPoints, settings.DefaultMinStakeMinor, settings.DefaultMaxStakeMinor, settings.OneActivePoolPerChannel,
            settings.AutoCancelAfterHours, version, storedProblems is not null, storedProblems);
}

/// <summary>
/// A whole new configuration and the version of the one it replaces. Every field is required: a field left out is
/// refused rather than reset to its default, so a script that sends only the rake cannot shorten the auto-cancel term.
/// </summary>
public sealed record PoolsConfigRequest
{
    public string? Version { get; init; }
    public int? DefaultRakeBasisPoints { get; init; }
    public long? DefaultMinStakeMinor { get; init; }
    public long? DefaultMaxStakeMinor { get; init; }
    public bool? OneActivePoolPerChannel { get; init; }
    public int? AutoCancelAfterHours { get; init; }

    /// <summary>The fields left out (or sent as null), by their JSON names.</summary>
    public IEnumerable<string> MissingFields() =>
        new (string Field, object? Value)[]
        {
            ("defaultRakeBasisPoints", DefaultRakeBasisPoints), ("defaultMinStakeMinor", DefaultMinStakeMinor), ("defaultMaxStakeMinor", DefaultMaxStakeMinor),
            ("oneActivePoolPerChannel", OneActivePoolPerChannel), ("autoCancelAfterHours", AutoCancelAfterHours),
        }.Where(f => f.Value is null).Select(f => f.Field);

    /// <summary>The settings asked for; only once <see cref="MissingFields"/> is empty.</summary>
    public PoolsSettings ToSettings() => new()
    {
        DefaultRakeBasisPoints = DefaultRakeBasisPoints!.Value, DefaultMinStakeMinor = DefaultMinStakeMinor!.Value,
        DefaultMaxStakeMinor = DefaultMaxStakeMinor!.Value, OneActivePoolPerChannel = OneActivePoolPerChannel!.Value,
        AutoCancelAfterHours = AutoCancelAfterHours!.Value,
    };
}
