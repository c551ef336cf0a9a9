namespace StreamBets.Gateway.Problems;

/// <summary>
/// The problem types of the Gateway's own refusals. A refusal written by the shared handlers (a body Kestrel could not
/// read, a charset .NET does not know) would otherwise carry only the RFC's generic type for its status, which tells a
/// client nothing it can switch on; <see cref="GiveStableType"/> gives it the one the Bet Engine and the docs use.
/// </summary>
public static class GatewayProblems
{
    public const string InvalidRequest = "https://streambets.dev/problems/invalid-request";
    public const string RequestTooLarge = "https://streambets.dev/problems/request-too-large";
    public const string UnsupportedMediaType = "https://streambets.dev/problems/unsupported-media-type";
    public const string DependencyUnavailable = "https://streambets.dev/problems/dependency-unavailable";

    private const string StreamBetsTypes = "https://streambets.dev/problems/";

    /// <summary>A problem the Gateway writes for a request it could not read, without a StreamBets type, gets one.</summary>
    public static void GiveStableType(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Type?.StartsWith(StreamBetsTypes, StringComparison.Ordinal) == true)
        {
            return;
        }
        problem.Type = problem.Status switch
        {
            StatusCodes.Status400BadRequest => InvalidRequest,
            StatusCodes.Status413PayloadTooLarge => RequestTooLarge,
            // A 415 has its type from the shared defaults already (ProblemDetailsDefaults), as in every service.
            _ => problem.Type,
        };
    }
}
