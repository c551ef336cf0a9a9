using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamBets.Contracts;
using StreamBets.Pools.Configuration;
using StreamBets.Pools.Documents;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Apis;

/// <summary>
/// /api/pools/admin: the dynamic configuration and the pool templates, for admins. Both live in the document store
/// (MongoDB or PostgreSQL jsonb) and apply at run time: configuration within seconds, templates at once. Every change
/// is kept with the admin who made it in <see cref="AdminChanges"/> (read back at /changes) and logged (category
/// <see cref="AuditCategory"/>): the rake is money.
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

    public static async Task<Ok<PoolsSettings>> GetConfig(PoolsSettingsProvider settings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await settings.GetAsync(cancellationToken));

    public static async Task<Results<Ok<PoolsSettings>, ValidationProblem>> PutConfig(
        PoolsSettings request, ClaimsPrincipal user, PoolsSettingsProvider settings, AdminChanges changes, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (request.Problems() is { Count: > 0 } errors)
        {
            return PoolProblems.Invalid(errors);
        }

        await settings.PutAsync(request, cancellationToken);
        await changes.RecordAsync(user, AdminChanges.ConfigChanged, "pools", new
        {
            request.DefaultRakeBasisPoints, request.DefaultMinStakeMinor, request.DefaultMaxStakeMinor, request.OneActivePoolPerChannel, request.AutoCancelAfterHours,
        }, cancellationToken);
        LogConfigChanged(loggers.CreateLogger(AuditCategory), user.GetUserId(), request.DefaultRakeBasisPoints, request.DefaultMinStakeMinor,
            request.DefaultMaxStakeMinor, request.OneActivePoolPerChannel, request.AutoCancelAfterHours);
        return TypedResults.Ok(request);
    }

    public static async Task<Ok<TemplateView[]>> ListTemplates(IDocumentStore documents, CancellationToken cancellationToken) =>
        TypedResults.Ok((await documents.ListAsync<PoolTemplate>(PoolTemplates.Collection, cancellationToken)).Select(d => TemplateView.Of(d.Id, d.Document)).ToArray());

    public static async Task<Results<Ok<TemplateView>, ProblemHttpResult>> GetTemplate(string id, IDocumentStore documents, CancellationToken cancellationToken)
    {
        var template = PoolTemplates.IsValidId(id) ? await documents.GetAsync<PoolTemplate>(PoolTemplates.Collection, id, cancellationToken) : null;
        return template is null ? TemplateMissing(id) : TypedResults.Ok(TemplateView.Of(id, template));
    }

    public static async Task<Results<Ok<TemplateView>, ValidationProblem>> PutTemplate(
        string id, PoolTemplate request, ClaimsPrincipal user, IDocumentStore documents, PoolsSettingsProvider settings, AdminChanges changes,
        ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!PoolTemplates.IsValidId(id))
        {
            errors["id"] = [PoolTemplates.IdRule];
        }

        // A template must make a valid pool: the same rules, with the configured stakes and rake where it names none.
        var config = await settings.GetAsync(cancellationToken);
        var definition = new PoolDefinition(
            request.Title, request.Outcomes ?? [], TimeSpan.FromSeconds(request.BettingWindowSeconds),
            new Money(request.MinStakeMinor ?? config.DefaultMinStakeMinor), new Money(request.MaxStakeMinor ?? config.DefaultMaxStakeMinor),
            config.DefaultRakeBasisPoints);
        foreach (var (field, messages) in Pool.Create(Guid.Empty, definition).Error?.FieldErrors ?? new Dictionary<string, string[]>())
        {
            errors[ManagementErrors.RequestField(field)] = messages;
        }

        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }

        var template = request with { Title = request.Title.Trim(), Outcomes = [.. request.Outcomes!.Select(o => o.Trim())] };
        await documents.PutAsync(PoolTemplates.Collection, id, template, cancellationToken);
        await changes.RecordAsync(user, AdminChanges.TemplateSaved, id, template, cancellationToken);
        LogTemplateSaved(loggers.CreateLogger(AuditCategory), user.GetUserId(), id, template.Title, template.Outcomes.Count, template.BettingWindowSeconds);
        return TypedResults.Ok(TemplateView.Of(id, template));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTemplate(
        string id, ClaimsPrincipal user, IDocumentStore documents, AdminChanges changes, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!PoolTemplates.IsValidId(id) || !await documents.DeleteAsync(PoolTemplates.Collection, id, cancellationToken))
        {
            return TemplateMissing(id);
        }
        await changes.RecordAsync(user, AdminChanges.TemplateDeleted, id, new { }, cancellationToken);

        LogTemplateDeleted(loggers.CreateLogger(AuditCategory), user.GetUserId(), id);
        return TypedResults.NoContent();
    }

    /// <summary>Who changed what, newest first, a page at a time (<c>nextCursor</c> for the next).</summary>
    public static async Task<Results<Ok<AdminChangePage>, ValidationProblem>> ListChanges(
        string? cursor, int? limit, AdminChanges changes, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!SequenceCursor.TryParse(cursor, out var before))
        {
            errors["cursor"] = ["The cursor is not one this service issued."];
        }
        if (limit is < 1 or > AdminChanges.MaxPageSize)
        {
            errors["limit"] = [$"The limit is 1 to {AdminChanges.MaxPageSize}."];
        }
        if (errors.Count > 0)
        {
            return PoolProblems.Invalid(errors);
        }
        return TypedResults.Ok(await changes.ListAsync(before, limit ?? AdminChanges.DefaultPageSize, cancellationToken));
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

public sealed record TemplateView(string Id, string Title, IReadOnlyList<string> Outcomes, int BettingWindowSeconds, long? MinStakeMinor, long? MaxStakeMinor)
{
    public static TemplateView Of(string id, PoolTemplate template) =>
        new(id, template.Title, template.Outcomes, template.BettingWindowSeconds, template.MinStakeMinor, template.MaxStakeMinor);
}
