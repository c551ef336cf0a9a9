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
        // Unknown and Internal too: a broken connection mid-call or a neighbour's bug, which its deploy fixes (docs/settlement.md).
        RpcException rpc => rpc.StatusCode switch
        {
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
                or StatusCode.Cancelled or StatusCode.Unknown or StatusCode.Internal => true,
            StatusCode.FailedPrecondition => ReasonOf(rpc) == BetsPending,
            _ => false,
        },
        PostgresException postgres => IsTransient(postgres),
        NpgsqlException or TimeoutException or HttpRequestException or IOException => true,
        _ => false,
    };

    /// <summary>
    /// An error settlementdb answered is retried only when PostgreSQL says time may fix it (Npgsql 10's list: connection
    /// 08xxx, serialization failure 40001, deadlock 40P01, insufficient resources 53xxx, lock not available 55P03 and
    /// 55000/55006, shutdown 57P01/57P02/57P03, idle session timeout 57P05, system or I/O error 58000/58030), plus a
    /// statement cancelled (57014: statement_timeout on a busy server, an operator's pg_cancel_backend) and a session
    /// ended by idle_in_transaction_session_timeout (25P03): the next run's fresh statement may well pass. Anything else
    /// (a constraint 23xxx, bad data 22xxx, a missing column 42xxx after a bad deploy, a trigger's P0001) fails the same
    /// way on every retry, so the settlement stops in 'failed' where an operator sees it.
    /// </summary>
    private static bool IsTransient(PostgresException postgres) =>
        postgres.IsTransient || postgres.SqlState is PostgresErrorCodes.QueryCanceled or "25P03";

    /// <summary>A short code for logs, metrics and the operator endpoint.</summary>
    public static string ReasonOf(Exception exception) => exception switch
    {
        SettlementRefusedException refused => refused.Reason,
        RpcException rpc => ErrorInfoOf(rpc)?.Reason is { Length: > 0 } reason ? reason : $"grpc-{rpc.StatusCode.ToString().ToLowerInvariant()}",
        // The SQLSTATE as PostgreSQL spells it (database-23514, database-40P01): what an operator looks up.
        PostgresException postgres => $"database-{postgres.SqlState}",
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
