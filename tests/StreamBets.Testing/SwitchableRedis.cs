using System.Reflection;
using System.Runtime.ExceptionServices;
using StackExchange.Redis;

namespace StreamBets.Testing;

/// <summary>
/// A Redis connection a test can make fail: made with <see cref="Over"/>, it passes every call to the real connection
/// until <see cref="Outage"/> is set, then throws that instead (a timeout, a refused connection), until it is cleared.
/// </summary>
public class SwitchableRedis : DispatchProxy
{
    private IConnectionMultiplexer _redis = null!;

    /// <summary>What every call throws while set; null passes calls on again.</summary>
    public Exception? Outage { get; set; }

    /// <summary>The connection to hand the code under test, and its switch.</summary>
    public static (IConnectionMultiplexer Connection, SwitchableRedis Switch) Over(IConnectionMultiplexer redis)
    {
        var connection = Create<IConnectionMultiplexer, SwitchableRedis>();
        var redisSwitch = (SwitchableRedis)(object)connection;
        redisSwitch._redis = redis;
        return (connection, redisSwitch);
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        if (Outage is not null)
        {
            throw Outage;
        }
        try
        {
            return method!.Invoke(_redis, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
