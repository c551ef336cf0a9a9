using Grpc.Core;

namespace StreamBets.BetEngine.Placement;

/// <summary>
/// How each rejection code is answered: its HTTP status, its gRPC status and its title. The problem type is
/// https://streambets.dev/problems/{code} over REST and the ErrorInfo reason over gRPC.
/// </summary>
public static class BetProblems
{
    public const string TypeBase = "https://streambets.dev/problems/";

    private static readonly Dictionary<string, (int Http, StatusCode Grpc, string Title)> Known = new(StringComparer.Ordinal)
    {
        [BetRejectionCodes.PoolNotFound] = (StatusCodes.Status404NotFound, StatusCode.NotFound, "Pool not found"),
        [BetRejectionCodes.PoolNotOpen] = (StatusCodes.Status409Conflict, StatusCode.FailedPrecondition, "Pool not open"),
        [BetRejectionCodes.PoolLocked] = (StatusCodes.Status409Conflict, StatusCode.FailedPrecondition, "Pool locked"),
        [BetRejectionCodes.PoolClosed] = (StatusCodes.Status409Conflict, StatusCode.FailedPrecondition, "Pool closed"),
        [BetRejectionCodes.UnknownOutcome] = (StatusCodes.Status422UnprocessableEntity, StatusCode.FailedPrecondition, "Unknown outcome"),
        [BetRejectionCodes.StakeOutOfRange] = (StatusCodes.Status422UnprocessableEntity, StatusCode.FailedPrecondition, "Stake out of range"),
        [BetRejectionCodes.InsufficientFunds] = (StatusCodes.Status422UnprocessableEntity, StatusCode.FailedPrecondition, "Insufficient funds"),
        [BetRejectionCodes.SecondOutcome] = (StatusCodes.Status422UnprocessableEntity, StatusCode.FailedPrecondition, "Second outcome"),
        [BetRejectionCodes.WalletRejected] = (StatusCodes.Status422UnprocessableEntity, StatusCode.FailedPrecondition, "Stake refused by the wallet"),
        [BetRejectionCodes.IdempotencyKeyReused] = (StatusCodes.Status422UnprocessableEntity, StatusCode.AlreadyExists, "Idempotency key reused"),
        [BetRejectionCodes.SelfExcluded] = (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "Self-excluded"),
        [BetRejectionCodes.KycTierTooLow] = (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "KYC tier too low"),
        [BetRejectionCodes.UnderAge] = (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "Under age"),
        [BetRejectionCodes.AccountLocked] = (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "Account locked"),
        [BetRejectionCodes.SessionLimitReached] = (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "Session time limit reached"),
        [BetRejectionCodes.UserNotFound] = (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "User not found"),
        [BetRejectionCodes.NotEligible] = (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, "Not eligible to bet"),
        [BetRejectionCodes.DependencyUnavailable] = (StatusCodes.Status503ServiceUnavailable, StatusCode.Unavailable, "Try again"),
    };

    public static string TypeOf(string code) => TypeBase + code;

    public static int HttpStatusOf(string code) => Known.TryGetValue(code, out var known) ? known.Http : StatusCodes.Status422UnprocessableEntity;

    public static StatusCode GrpcStatusOf(string code) => Known.TryGetValue(code, out var known) ? known.Grpc : StatusCode.FailedPrecondition;

    public static string TitleOf(string code) => Known.TryGetValue(code, out var known) ? known.Title : code;
}
