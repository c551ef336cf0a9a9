using Microsoft.AspNetCore.Http.HttpResults;

namespace StreamBets.Users.Apis;

/// <summary>Turns an <see cref="Outcome{T}"/> into typed results: the success, a ValidationProblem, or the rule's problem details.</summary>
internal static class OutcomeResults
{
    public static Results<Ok<T>, ValidationProblem, ProblemHttpResult> ToOk<T>(this Outcome<T> outcome) =>
        outcome.ToResult(TypedResults.Ok);

    public static Results<TSuccess, ValidationProblem, ProblemHttpResult> ToResult<T, TSuccess>(this Outcome<T> outcome, Func<T, TSuccess> success)
        where TSuccess : IResult =>
        outcome.ValidationErrors is { } errors ? Invalid(errors)
        : outcome.Error is { } error ? error.ToProblem()
        : success(outcome.Value!);

    /// <summary>Field errors, of the problem type every service uses for them (docs/gateway.md, "Errors").</summary>
    public static ValidationProblem Invalid(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, type: DomainError.TypePrefix + "invalid-request");

    /// <summary>
    /// The ValidationProblem for a malformed page request of a keyset-paged list (a cursor this service did not issue, a
    /// limit outside 1 to <paramref name="maxLimit"/>); null when it is well formed.
    /// </summary>
    public static ValidationProblem? InvalidPage(bool cursorIssued, int? limit, int maxLimit)
    {
        var errors = new Dictionary<string, string[]>();
        if (!cursorIssued)
        {
            errors["cursor"] = ["The cursor is not one this service issued."];
        }
        if (limit < 1 || limit > maxLimit)
        {
            errors["limit"] = [$"The limit must be between 1 and {maxLimit}."];
        }
        return errors.Count > 0 ? Invalid(errors) : null;
    }

    public static ProblemHttpResult ToProblem(this DomainError error) =>
        TypedResults.Problem(detail: error.Detail, statusCode: error.Status, title: error.Title, type: error.Type);
}
