using Microsoft.AspNetCore.Http.HttpResults;

namespace StreamBets.Users.Apis;

/// <summary>Turns an <see cref="Outcome{T}"/> into typed results: the success, a ValidationProblem, or the rule's problem details.</summary>
internal static class OutcomeResults
{
    public static Results<Ok<T>, ValidationProblem, ProblemHttpResult> ToOk<T>(this Outcome<T> outcome) =>
        outcome.ToResult(TypedResults.Ok);

    public static Results<TSuccess, ValidationProblem, ProblemHttpResult> ToResult<T, TSuccess>(this Outcome<T> outcome, Func<T, TSuccess> success)
        where TSuccess : IResult =>
        outcome.ValidationErrors is { } errors ? TypedResults.ValidationProblem(errors)
        : outcome.Error is { } error ? error.ToProblem()
        : success(outcome.Value!);

    public static ProblemHttpResult ToProblem(this DomainError error) =>
        TypedResults.Problem(detail: error.Detail, statusCode: error.Status, title: error.Title, type: error.Type);
}
