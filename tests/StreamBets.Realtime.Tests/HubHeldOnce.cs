using Microsoft.AspNetCore.SignalR;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Tests;

/// <summary>The hub context with a backplane whose first publish waits until the test releases it, as a slow PUBLISH would.</summary>
public sealed class HubHeldOnce(IHubContext<LiveHub> hub) : IHubContext<LiveHub>, IHubClients
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _held = 1;

    /// <summary>Completes when the first publish is under way.</summary>
    public Task Reached => _reached.Task;

    public void Release() => _released.TrySetResult();

    IHubClients IHubContext<LiveHub>.Clients => this;
    IGroupManager IHubContext<LiveHub>.Groups => hub.Groups;

    public IClientProxy Group(string groupName) =>
        Interlocked.Exchange(ref _held, 0) == 1 ? new Held(this, hub.Clients.Group(groupName)) : hub.Clients.Group(groupName);

    private sealed class Held(HubHeldOnce owner, IClientProxy target) : IClientProxy
    {
        public async Task SendCoreAsync(string method, object?[] args, CancellationToken cancellationToken = default)
        {
            owner._reached.TrySetResult();
            await owner._released.Task;
            await target.SendCoreAsync(method, args, cancellationToken);
        }
    }

    public IClientProxy All => hub.Clients.All;
    public IClientProxy AllExcept(IReadOnlyList<string> excludedConnectionIds) => hub.Clients.AllExcept(excludedConnectionIds);
    public IClientProxy Client(string connectionId) => hub.Clients.Client(connectionId);
    public IClientProxy Clients(IReadOnlyList<string> connectionIds) => hub.Clients.Clients(connectionIds);
    public IClientProxy GroupExcept(string groupName, IReadOnlyList<string> excludedConnectionIds) => hub.Clients.GroupExcept(groupName, excludedConnectionIds);
    public IClientProxy Groups(IReadOnlyList<string> groupNames) => hub.Clients.Groups(groupNames);
    public IClientProxy User(string userId) => hub.Clients.User(userId);
    public IClientProxy Users(IReadOnlyList<string> userIds) => hub.Clients.Users(userIds);
}
