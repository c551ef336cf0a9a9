using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace StreamBets.Realtime.Hubs;

/// <summary>
/// Who is calling: a signed-in user, or an anonymous client network as the gateway's rate limiter counts it (the
/// client's site it relays in <see cref="HubCallers.ClientNetworkHeader"/>: an IPv4 address or an IPv6 /48), or one
/// signed-out viewer of a front end. <paramref name="Network"/>: many viewers may share it, so its limits are larger.
/// </summary>
public readonly record struct Caller(string Key, bool SignedIn, bool Network = false)
{
    public static Caller Of(ClaimsPrincipal? user, HttpContext? http)
    {
        if (user?.Identity?.IsAuthenticated == true && user.FindFirst(AuthenticationDefaults.Claims.UserId)?.Value is { } userId)
        {
            return new($"user:{userId}", SignedIn: true);
        }
        // Only the gateway reaches Realtime from outside, and it replaces any copy of the header a client sent. Without
        // it (a call inside the cluster) the remote address, written the way the gateway writes an IPv4 client.
        var network = http?.Request.Headers[HubCallers.ClientNetworkHeader].ToString() is { Length: > 0 and <= 100 } relayed
            ? relayed
            : $"ip:{http?.Connection.RemoteIpAddress?.ToString() ?? "unknown"}";
        // A front end the gateway vouched for connects each of its signed-out viewers from its own address (the player
        // site's server): shared, its thousands of viewers would share one allowance. Each such connection is a caller
        // of its own, as every connection was before; the gateway's budget for that front end bounds them.
        if (network.StartsWith(HubCallers.FrontEndSitePrefix, StringComparison.Ordinal))
        {
            return new($"front-end-viewer:{http!.TraceIdentifier}", SignedIn: false);
        }
        return new($"network:{network}", SignedIn: false, Network: true);
    }
}

/// <summary>
/// The hub's allowances per caller on this replica, shared by all of the caller's connections, so reconnecting or
/// opening more sockets gets nothing new: the call budget (<see cref="ReadCallBudget"/>), the number of connections
/// and the pools and channels watched (each a group, and so a backplane SUBSCRIBE). An anonymous network may be many
/// viewers behind one address (carrier-grade NAT), so its limits are larger. A caller is forgotten once it has no
/// connection, watches nothing and its budget has refilled, so memory follows the callers actually connected.
/// </summary>
public sealed class HubCallers : IDisposable
{
    /// <inheritdoc cref="FrontEndVouching.ClientNetworkHeader"/>
    public const string ClientNetworkHeader = FrontEndVouching.ClientNetworkHeader;

    /// <inheritdoc cref="FrontEndVouching.FrontEndSitePrefix"/>
    public const string FrontEndSitePrefix = FrontEndVouching.FrontEndSitePrefix;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Allowance> _callers = new(StringComparer.Ordinal);
    private readonly IOptions<RealtimeOptions> _options;
    private readonly TimeProvider _time;
    private readonly ITimer _forget;

    public HubCallers(IOptions<RealtimeOptions> options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _forget = time.CreateTimer(_ => ForgetIdle(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    /// <summary>Callers remembered, connected or not: for tests and to see that memory stays bounded.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _callers.Count;
            }
        }
    }

    /// <summary>Counts a connection, or says how many the caller may have when it has them all already.</summary>
    public bool TryConnect(Caller caller, out int limit)
    {
        limit = _options.Value.MaxConnections(caller);
        lock (_gate)
        {
            var allowance = Get(caller);
            if (allowance.Connections >= limit)
            {
                return false;
            }
            allowance.Connections++;
            return true;
        }
    }

    public void Disconnect(Caller caller)
    {
        lock (_gate)
        {
            if (_callers.TryGetValue(caller.Key, out var allowance))
            {
                allowance.Connections--;
            }
        }
    }

    /// <summary>Takes one call of the caller's budget; when none is left, <paramref name="retryAfter"/> says when the next one is.</summary>
    public bool TrySpendCall(Caller caller, out TimeSpan retryAfter)
    {
        ReadCallBudget budget;
        lock (_gate)
        {
            budget = Get(caller).Budget;
        }
        return budget.TryTake(out retryAfter);
    }

    /// <summary>Adds a connection's watch of <paramref name="group"/>; a group new to the caller must fit under its cap.</summary>
    public bool TryWatch(Caller caller, string group, out int limit)
    {
        limit = _options.Value.MaxWatches(caller);
        lock (_gate)
        {
            var watched = Get(caller).Watched;
            if (watched.TryGetValue(group, out var connections))
            {
                watched[group] = connections + 1;
                return true;
            }
            if (watched.Count >= limit)
            {
                return false;
            }
            watched[group] = 1;
            return true;
        }
    }

    public void Unwatch(Caller caller, string group)
    {
        lock (_gate)
        {
            if (_callers.TryGetValue(caller.Key, out var allowance) && allowance.Watched.TryGetValue(group, out var connections))
            {
                if (connections <= 1)
                {
                    allowance.Watched.Remove(group);
                }
                else
                {
                    allowance.Watched[group] = connections - 1;
                }
            }
        }
    }

    public void Dispose() => _forget.Dispose();

    /// <summary>Drops the callers with nothing left to remember: a budget that refilled is what a new caller would get.</summary>
    public void ForgetIdle()
    {
        lock (_gate)
        {
            foreach (var (key, allowance) in _callers)
            {
                if (allowance.Connections <= 0 && allowance.Watched.Count == 0 && allowance.Budget.IsFull)
                {
                    _callers.Remove(key);
                }
            }
        }
    }

    private Allowance Get(Caller caller)
    {
        if (!_callers.TryGetValue(caller.Key, out var allowance))
        {
            var (burst, perSecond) = _options.Value.ReadCalls(caller);
            allowance = new Allowance(new ReadCallBudget(burst, perSecond, _time));
            _callers[caller.Key] = allowance;
        }
        return allowance;
    }

    private sealed class Allowance(ReadCallBudget budget)
    {
        public ReadCallBudget Budget { get; } = budget;
        public int Connections { get; set; }

        /// <summary>Group to the number of the caller's connections watching it.</summary>
        public Dictionary<string, int> Watched { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>Refuses a hub connection beyond its caller's cap, before the WebSocket is accepted, with 429 and a problem.</summary>
public static class ConnectionCaps
{
    public static void UseConnectionCaps(this WebApplication app, string hubPath) => app.Use(async (context, next) =>
    {
        // The transport request only (a WebSocket or an event stream lasts as long as its connection, a long poll while
        // it waits); negotiate opens nothing, nor do the POSTs that carry a server-sent-events or long-polling client's calls.
        if ((context.Request.Path != hubPath && context.Request.Path != hubPath + "/") || !HttpMethods.IsGet(context.Request.Method))
        {
            await next(context);
            return;
        }
        var callers = context.RequestServices.GetRequiredService<HubCallers>();
        var caller = Caller.Of(context.User, context);
        if (!callers.TryConnect(caller, out var limit))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status429TooManyRequests,
                    Type = "https://streambets.dev/problems/too-many-connections",
                    Title = "Too many live connections.",
                    Detail = caller.SignedIn
                        ? $"One player may have {limit} live connections at once; close a tab or another device's page, then reconnect."
                        : $"One network may have {limit} signed-out live connections at once; sign in, or try again later.",
                },
            });
            return;
        }
        try
        {
            await next(context);
        }
        finally
        {
            callers.Disconnect(caller);
        }
    });
}
