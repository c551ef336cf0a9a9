using Microsoft.AspNetCore.Http.HttpResults;
using StreamBets.Pools.Lifecycle;
using StreamBets.Pools.Management;

namespace StreamBets.Pools.Apis;

/// <summary>
/// Every pool rule as RFC 7807: the stable code becomes the problem <c>type</c> (https://streambets.dev/problems/{code}),
/// the rule's own sentence the <c>detail</c>. Field rules become a ValidationProblem with the errors per field.
/// </summary>
internal static class PoolProblems
{
    public const string TypeBase = "https://streambets.dev/problems/";
    public const string TemplateNotFound = "template-not-found";
    public const string ChannelNotLinked = "channel-not-linked";
    public const string ConfigChanged = "config-changed";
    public const string TemplateExists = "template-exists";
    public const string TemplateChanged = "template-changed";
    public const string ChannelOwnerChanged = "channel-owner-changed";
    public const string ConfigBreaksTemplates = "config-breaks-templates";
    public const string TemplateUnreadable = ManagementErrors.TemplateUnreadable;
    public const string LeaderboardsUnavailable = "leaderboards-unavailable";
    public const string AdminSaveBusy = "admin-save-busy";

    private static readonly Dictionary<string, (int Status, string Title)> Known = new()
    {
        [PoolErrorCodes.PoolNotOpen] = (StatusCodes.Status409Conflict, "Pool not open"),
        [PoolErrorCodes.PoolLocked] = (StatusCodes.Status409Conflict, "Pool locked"),
        [PoolErrorCodes.InvalidTransition] = (StatusCodes.Status409Conflict, "Not allowed in the pool's state"),
        [PoolErrorCodes.UnknownOutcome] = (StatusCodes.Status422UnprocessableEntity, "Unknown outcome"),
        [PoolErrorCodes.WinnerRequired] = (StatusCodes.Status422UnprocessableEntity, "Winner required"),
        [PoolErrorCodes.StakeOutOfRange] = (StatusCodes.Status422UnprocessableEntity, "Stake out of range"),
        [PoolErrorCodes.SecondOutcome] = (StatusCodes.Status422UnprocessableEntity, "Second outcome"),
        [ManagementErrors.PoolNotFound] = (StatusCodes.Status404NotFound, "Pool not found"),
        [ManagementErrors.NotPoolOwner] = (StatusCodes.Status403Forbidden, "Not your pool"),
        [ManagementErrors.ChannelNotYours] = (StatusCodes.Status403Forbidden, "Not your channel"),
        [ManagementErrors.ChannelHasActivePool] = (StatusCodes.Status409Conflict, "Channel already has an active pool"),
        [ManagementErrors.IdempotencyKeyReused] = (StatusCodes.Status422UnprocessableEntity, "Idempotency key reused"),
        [ManagementErrors.ConcurrencyConflict] = (StatusCodes.Status409Conflict, "Pool changed concurrently"),
        [ManagementErrors.SettingsUnavailable] = (StatusCodes.Status503ServiceUnavailable, "Pools configuration unavailable"),
        [TemplateNotFound] = (StatusCodes.Status404NotFound, "Template not found"),
        [ChannelNotLinked] = (StatusCodes.Status404NotFound, "Channel not linked"),
        [ConfigChanged] = (StatusCodes.Status409Conflict, "Configuration changed meanwhile"),
        [TemplateExists] = (StatusCodes.Status409Conflict, "Template exists"),
        [TemplateChanged] = (StatusCodes.Status409Conflict, "Template changed meanwhile"),
        [ChannelOwnerChanged] = (StatusCodes.Status409Conflict, "Channel owner changed meanwhile"),
        [ConfigBreaksTemplates] = (StatusCodes.Status409Conflict, "Configuration breaks templates"),
        [TemplateUnreadable] = (StatusCodes.Status409Conflict, "Stored template unreadable"),
        [LeaderboardsUnavailable] = (StatusCodes.Status503ServiceUnavailable, "Leaderboards unavailable"),
        [AdminSaveBusy] = (StatusCodes.Status503ServiceUnavailable, "Another save in progress"),
    };

    public static string TypeOf(string code) => TypeBase + code;

    /// <summary>Field rules (a ValidationProblem) rather than a rule of the pool's state.</summary>
    public static bool IsValidation(PoolError error) => error.Code == PoolErrorCodes.InvalidPool;

    public static ValidationProblem Invalid(PoolError error) => Invalid(error.FieldErrors.ToDictionary(), error.Detail, error.Code);

    public static ProblemHttpResult Problem(PoolError error) => Problem(error.Code, error.Detail);

    public static ProblemHttpResult Problem(string code, string detail, IDictionary<string, object?>? extensions = null)
    {
        var (status, title) = Known.TryGetValue(code, out var known) ? known : (StatusCodes.Status409Conflict, code);
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypeOf(code), extensions: extensions);
    }

    public static ValidationProblem Invalid(IDictionary<string, string[]> errors, string detail = "The request breaks one or more rules.", string code = "invalid-request") =>
        TypedResults.ValidationProblem(errors, detail: detail, title: "Invalid request", type: TypeOf(code));
}
