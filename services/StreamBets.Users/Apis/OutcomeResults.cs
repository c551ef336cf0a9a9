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

    public static ProblemHttpResult ToProblem(this DomainError error) =>
        TypedResults.Problem(detail: error.Detail, statusCode: error.Status, title: error.Title, type: error.Type);
}
