using StackExchange.Redis;

namespace StreamBets.Realtime.Extensions;

internal static class Extensions
{
    /// <summary>Everything the Realtime service registers: SignalR scaled out over the Redis backplane.</summary>
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddDefaultAuthentication();
        builder.AddRedisClient("redis");
        builder.Services.AddSignalR().AddStackExchangeRedis(
            builder.Configuration.GetConnectionString("redis") ?? throw new InvalidOperationException("ConnectionStrings:redis is not configured."),
            options => options.Configuration.ChannelPrefix = RedisChannel.Literal("streambets-realtime"));
    }
}
