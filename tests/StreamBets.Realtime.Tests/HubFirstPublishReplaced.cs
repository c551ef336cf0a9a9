using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Tests;

/// <summary>The hub context with its first publish to a group replaced (<see cref="Replace"/>); every other call goes to the real one.</summary>
public abstract class HubFirstPublishReplaced(IHubContext<LiveHub> hub) : IHubContext<LiveHub>, IHubClients
{
    private int _pending = 1;

    /// <summary>What the first publish goes through instead of <paramref name="group"/>, the real group's proxy.</summary>
    protected abstract IClientProxy Replace(IClientProxy group);

    IHubClients IHubContext<LiveHub>.Clients => this;
    IGroupManager IHubContext<LiveHub>.Groups => hub.Groups;

    public IClientProxy Group(string groupName) =>
        Interlocked.Exchange(ref _pending, 0) == 1 ? Replace(hub.Clients.Group(groupName)) : hub.Clients.Group(groupName);

    public IClientProxy All => hub.Clients.All;
    public IClientProxy AllExcept(IReadOnlyList<string> excludedConnectionIds) => hub.Clients.AllExcept(excludedConnectionIds);
    public IClientProxy Client(string connectionId) => hub.Clients.Client(connectionId);
    public IClientProxy Clients(IReadOnlyList<string> connectionIds) => hub.Clients.Clients(connectionIds);
    public IClientProxy GroupExcept(string groupName, IReadOnlyList<string> excludedConnectionIds) => hub.Clients.GroupExcept(groupName, excludedConnectionIds);
    public IClientProxy Groups(IReadOnlyList<string> groupNames) => hub.Clients.Groups(groupNames);
    public IClientProxy User(string userId) => hub.Clients.User(userId);
    public IClientProxy Users(IReadOnlyList<string> userIds) => hub.Clients.Users(userIds);
}

/// <summary>The hub context with a backplane whose first publish fails, as when Redis drops the connection.</summary>
public sealed class HubFailingOnce(IHubContext<LiveHub> hub) : HubFirstPublishReplaced(hub), IClientProxy
{
    protected override IClientProxy Replace(IClientProxy group) => this;

    public Task SendCoreAsync(string method, object?[] args, CancellationToken cancellationToken = default) =>
        throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "The backplane is unreachable.");
}

/// <summary>The hub context with a backplane whose first publish waits until the test releases it, as a slow PUBLISH would.</summary>
public sealed class HubHeldOnce(IHubContext<LiveHub> hub) : HubFirstPublishReplaced(hub)
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first publish is under way.</summary>
    public Task Reached => _reached.Task;

    public void Release() => _released.TrySetResult();

    protected override IClientProxy Replace(IClientProxy group) => new Held(this, group);

    private sealed class Held(HubHeldOnce owner, IClientProxy target) : IClientProxy
    {
        public async Task SendCoreAsync(string method, object?[] args, CancellationToken cancellationToken = default)
        {
            owner._reached.TrySetResult();
            await owner._released.Task;
            await target.SendCoreAsync(method, args, cancellationToken);
        }
    }
}
