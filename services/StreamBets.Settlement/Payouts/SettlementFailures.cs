using Google.Rpc;
using Grpc.Core;
using Npgsql;

namespace StreamBets.Settlement.Payouts;

/// <summary>A failure no retry can fix (a refused payment, totals that changed between runs, a broken answer): the
/// settlement stops in 'failed' with <see cref="Reason"/>, and an operator looks.</summary>
public sealed class SettlementRefusedException(string reason, string detail) : Exception($"{reason}: {detail}")
{
    public string Reason { get; } = reason;
}

/// <summary>Which failures are worth a retry with backoff, and a short stable reason for each.</summary>
public static class SettlementFailures
{
    /// <summary>The Bet Engine's answer while a bet of the pool is still pending.</summary>
    public const string BetsPending = "bets-pending";

    /// <summary>True for what time fixes: a dependency down or slow, bets still pending, a database hiccup.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        SettlementRefusedException => false,
        RpcException rpc => rpc.StatusCode switch
        {
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
                or StatusCode.Cancelled or StatusCode.Unknown or StatusCode.Internal => true,
            StatusCode.FailedPrecondition => ReasonOf(rpc) == BetsPending,
            _ => false,
        },
        NpgsqlException or TimeoutException or HttpRequestException or IOException => true,
        _ => false,
    };

    /// <summary>A short code for logs, metrics and the operator endpoint.</summary>
    public static string ReasonOf(Exception exception) => exception switch
    {
        SettlementRefusedException refused => refused.Reason,
        RpcException rpc => ErrorInfoOf(rpc)?.Reason is { Length: > 0 } reason ? reason : $"grpc-{rpc.StatusCode.ToString().ToLowerInvariant()}",
        NpgsqlException => "database",
        TimeoutException => "timeout",
        _ => exception.GetType().Name,
    };

    private static ErrorInfo? ErrorInfoOf(RpcException rpc)
    {
        try
        {
            return rpc.GetRpcStatus()?.GetDetail<ErrorInfo>();
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
