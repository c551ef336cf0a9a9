using System.Net;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;

namespace StreamBets.Admin.Operations;

/// <summary>
/// Names or clears a channel's chat streamer with Realtime's admin-only hub methods <c>SetChannelStreamer</c> and
/// <c>ClearChannelStreamer</c> (docs/realtime.md, "Who is the channel's streamer"), as the signed-in operator. Answers
/// as the REST calls do: success, or an <see cref="ApiProblem"/> whose code is the hub's refusal code and whose detail
/// says in the console's words what it means.
/// </summary>
/// <remarks>
/// Why a hub connection, opened for one action and closed after it: the chat's streamer lives only in Realtime's Redis,
/// and Realtime offers it on the hub alone (no REST endpoint, no gateway route but <c>/hubs/{**rest}</c>). The call
/// is made from the console's server, as every gateway call is, with the operator's access token, which never reaches
/// the browser. A connection per action holds nothing between clicks: one kept for the circuit would count against the
/// operator's connection and call allowances on Realtime for an action used now and then.
/// </remarks>
public sealed partial class ChatStreamers(LiveHubAddress hub, UserSession session, ILogger<ChatStreamers> logger)
{
    /// <summary>
    /// How long a whole action may take: the token, the connection and the call. Without it a network that goes silent
    /// holds the action (and Accounts' buttons) until TCP gives up, minutes later. Tests shorten it.
    /// </summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Makes <paramref name="userId"/> the streamer of <paramref name="channel"/>'s chat, until its next link change in Pools.</summary>
    public Task<ApiResult<bool>> NameAsync(PoolChannel channel, Guid userId, CancellationToken ct = default) =>
        InvokeAsync("SetChannelStreamer", [channel.ToString(), userId.ToString()], ct);

    /// <summary>Leaves <paramref name="channel"/>'s chat with no streamer, and so with no moderators.</summary>
    public Task<ApiResult<bool>> ClearAsync(PoolChannel channel, CancellationToken ct = default) =>
        InvokeAsync("ClearChannelStreamer", [channel.ToString()], ct);

    private async Task<ApiResult<bool>> InvokeAsync(string method, object?[] arguments, CancellationToken ct)
    {
        // The time limit cancels as a lost connection does (an OperationCanceledException while ct is not cancelled), so it
        // answers as one: before the call was sent nothing changed, after it the change may or may not have been made.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeLimit);
        var bounded = limit.Token;
        HubConnection? connection = null;
        try
        {
            if (await session.AccessTokenAsync(bounded) is not { } token)
            {
                return SignedOut();
            }
            try
            {
                connection = await ConnectAsync(token, bounded);
            }
            catch (Exception e) when (LiveHubAddress.IsTokenRefused(e))
            {
                // Refused before its expiry: a session revoked elsewhere ends here, or it gets a fresh token to try once more.
                if (await session.TokenRefusedAsync(token, bounded) is not { } fresh || fresh == token)
                {
                    return SignedOut();
                }
                try
                {
                    connection = await ConnectAsync(fresh, bounded);
                }
                catch (Exception again) when (LiveHubAddress.IsTokenRefused(again))
                {
                    // The fresh token refused too (as a REST call's second 401): the hub took nothing, and the session
                    // cannot act on it; the operator signs in again, as for any refused session.
                    LogRefused(logger, method, ApiProblem.SignedOut);
                    return SignedOut();
                }
            }
            bounded.ThrowIfCancellationRequested(); // the time is up before the call was sent: nothing changed
        }
        catch (Exception e) when (IsNoAnswer(e) && !ct.IsCancellationRequested)
        {
            LogUnavailable(logger, method, hub.HubUri, e);
            return ApiResult<bool>.Failure(ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, ApiProblem.Unavailable)); // nothing sent
        }

        try
        {
            try
            {
                await connection.InvokeCoreAsync(method, arguments, bounded);
                return ApiResult<bool>.Success(true);
            }
            catch (HubException e)
            {
                var problem = Refusal(e);
                LogRefused(logger, method, problem.Code);
                return ApiResult<bool>.Failure(problem);
            }
            catch (Exception e) when (IsNoAnswer(e) && !ct.IsCancellationRequested)
            {
                // Sent, and the connection was lost before its answer. Naming or clearing again does no harm, so the notice
                // says to, instead of the "reload to check" of a lost REST change (the console cannot read the chat's streamer).
                LogUnavailable(logger, method, hub.HubUri, e);
                return ApiResult<bool>.Failure(ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, ApiProblem.Unavailable,
                    "The live hub did not answer, so this change may or may not have been made. Doing it again is harmless: try again."));
            }
        }
        finally
        {
            // Closing waits for the hub to close its side too (up to the client's close timeout, 5 s): not when the time is
            // up, as the hub is silent and the answer is known. The close goes on unwatched; it has nothing to report.
            var closing = connection.DisposeAsync().AsTask();
            if (!bounded.IsCancellationRequested)
            {
                await closing;
            }
        }
    }

    private static ApiResult<bool> SignedOut() => ApiResult<bool>.Failure(ApiProblem.Of(StatusCodes.Status401Unauthorized, ApiProblem.SignedOut));

    private async Task<HubConnection> ConnectAsync(string token, CancellationToken ct)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(hub.HubUri, options =>
            {
                // One request, the WebSocket, as the player app connects: with negotiate first, the gateway could send
                // the two to different Realtime replicas, and the second would be refused.
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
                if (hub.FrontEndKey is { } key)
                {
                    options.Headers[FrontEndVouching.KeyHeader] = key;
                }
            })
            .Build();
        try
        {
            await connection.StartAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The hub's refusal, "code: text" behind the SignalR client's own prefix (docs/realtime.md, "Errors"), in the console's words.</summary>
    internal static ApiProblem Refusal(HubException refused)
    {
        var match = RefusalPattern().Match(refused.Message);
        if (!match.Success)
        {
            // SignalR's own "Failed to invoke ... due to an error on the server": Realtime failed, perhaps after writing.
            return ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, ApiProblem.Unavailable,
                "Realtime failed without saying whether this change was made. Doing it again is harmless: try again.");
        }
        var code = match.Groups["code"].Value;
        var detail = code switch
        {
            "admin-only" => "Realtime did not find the admin role in your session's token (was it taken away since you signed in?), "
                + "and only an admin can name or clear a chat's streamer. Nothing was changed.",
            "sign-in-required" => "Realtime took the call as signed out, so nothing was changed. Sign in again, then try again.",
            "invalid-channel" => "Realtime does not take that channel: name it by its platform (Twitch, Kick or YouTube) and its channel id. Nothing was changed.",
            "invalid-user-id" => "Realtime does not take that user id. Nothing was changed.",
            _ => $"{match.Groups["text"].Value} Nothing was changed.",
        };
        return ApiProblem.Of(code == "sign-in-required" ? StatusCodes.Status401Unauthorized
            : code == "rate-limited" ? StatusCodes.Status429TooManyRequests
            : code.StartsWith("invalid-", StringComparison.Ordinal) ? StatusCodes.Status400BadRequest
            : StatusCodes.Status403Forbidden, code, detail);
    }

    /// <summary>
    /// The hub could not be reached or the connection was lost: a network failure or timeout, a token that could not be
    /// refreshed (<see cref="SessionTokenUnavailableException"/>, an <see cref="HttpRequestException"/>), the session's
    /// tokens unreadable in Redis. Thrown on, any of these would tear down the operator's circuit.
    /// </summary>
    private static bool IsNoAnswer(Exception e) =>
        e is HttpRequestException or WebSocketException or IOException or InvalidOperationException or OperationCanceledException or TimeoutException
            or RedisException or RedisTimeoutException;

    // "code: text", after the client's prefix when there is one.
    [GeneratedRegex(@"(?:HubException: |^)(?<code>[a-z]+(?:-[a-z]+)*): (?<text>.*)$", RegexOptions.Singleline)]
    private static partial Regex RefusalPattern();

    [LoggerMessage(EventId = 1, EventName = "LiveHubRefused", Level = LogLevel.Information, Message = "{Method} on the live hub refused {Code}")]
    private static partial void LogRefused(ILogger logger, string method, string code);

    [LoggerMessage(EventId = 2, EventName = "LiveHubUnavailable", Level = LogLevel.Warning, Message = "{Method} on the live hub {HubUri} got no answer")]
    private static partial void LogUnavailable(ILogger logger, string method, Uri hubUri, Exception exception);
}
