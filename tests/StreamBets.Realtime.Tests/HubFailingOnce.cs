using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Tests;

/// <summary>The hub context with a backplane whose first publish fails, as when Redis drops the connection.</summary>
public sealed class HubFailingOnce(IHubContext<LiveHub> hub) : IHubContext<LiveHub>, IHubClients, IClientProxy
{
    private int _failures = 1;

    IHubClients IHubContext<LiveHub>.Clients => this;
    IGroupManager IHubContext<LiveHub>.Groups => hub.Groups;

    public IClientProxy Group(string groupName) => Interlocked.Exchange(ref _failures, 0) == 1 ? this : hub.Clients.Group(groupName);

    public Task SendCoreAsync(string method, object?[] args, CancellationToken cancellationToken = default) =>
        throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "The backplane is unreachable.");

    public IClientProxy All => hub.Clients.All;
    public IClientProxy AllExcept(IReadOnlyList<string> excludedConnectionIds) => hub.Clients.AllExcept(excludedConnectionIds);
    public IClientProxy Client(string connectionId) => hub.Clients.Client(connectionId);
    public IClientProxy Clients(IReadOnlyList<string> connectionIds) => hub.Clients.Clients(connectionIds);
    public IClientProxy GroupExcept(string groupName, IReadOnlyList<string> excludedConnectionIds) => hub.Clients.GroupExcept(groupName, excludedConnectionIds);
    public IClientProxy Groups(IReadOnlyList<string> groupNames) => hub.Clients.Groups(groupNames);
    public IClientProxy User(string userId) => hub.Clients.User(userId);
    public IClientProxy Users(IReadOnlyList<string> userIds) => hub.Clients.Users(userIds);
}
