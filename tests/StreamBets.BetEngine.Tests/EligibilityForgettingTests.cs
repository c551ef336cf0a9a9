using System.Collections.Concurrent;
using Grpc.Core;
using StackExchange.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.IntegrationEvents.EventHandling;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.IntegrationEvents;
using StreamBets.Contracts.Users;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// A self-exclusion or a KYC change makes the eligibility cache forget the player at once: their next bet is judged by
/// Users again, in every session and on every replica, and a check already in flight is not remembered. The clock never
/// moves, so no answer expires by itself. The replicas tell each other through the tests' real Redis.
/// </summary>
public sealed class EligibilityForgettingTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 20, 0, 0, TimeSpan.Zero);

    private readonly ScriptedUsers _users = new();
    private EligibilityCache _eligibility = null!;
    private PlayerEligibilityHandlers _handlers = null!;
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync((await TestServers.RedisAsync()).ConnectionString);
        (_eligibility, var changes) = await StartReplicaAsync(_users);
        _handlers = new PlayerEligibilityHandlers(changes);
    }

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    /// <summary>One replica's cache, following the others' announcements.</summary>
    private async Task<(EligibilityCache, EligibilityChanges)> StartReplicaAsync(ScriptedUsers users)
    {
        var eligibility = new EligibilityCache(new UserAccounts.UserAccountsClient(users), new FakeTimeProvider(Now), Options.Create(new BetEngineOptions()));
        var changes = new EligibilityChanges(eligibility, _redis, NullLogger<EligibilityChanges>.Instance);
        await changes.StartAsync(CancellationToken.None);
        return (eligibility, changes);
    }

    [Fact]
    public async Task A_replica_that_did_not_receive_the_event_forgets_the_player_too()
    {
        var player = Guid.NewGuid();
        var otherReplicasUsers = new ScriptedUsers();
        var (otherReplica, _) = await StartReplicaAsync(otherReplicasUsers);
        Assert.Null(await otherReplica.CheckAsync(player, null, CancellationToken.None));

        otherReplicasUsers.Refuse(player, BetRejectionCodes.SelfExcluded);
        await _handlers.HandleAsync(new PlayerSelfExcluded(player, "6-months", Now, Now.AddMonths(6)), null!, default);

        Assert.True(await BetEngineStack.EventuallyAsync(async () =>
            (await otherReplica.CheckAsync(player, null, CancellationToken.None))?.Code == BetRejectionCodes.SelfExcluded));
    }

    [Fact]
    public async Task After_a_self_exclusion_the_players_next_check_in_every_session_asks_Users_and_is_refused()
    {
        var (player, other, session) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        Assert.Null(await CheckAsync(player, session));
        Assert.Null(await CheckAsync(player, null));
        Assert.Null(await CheckAsync(other, session));

        _users.Refuse(player, BetRejectionCodes.SelfExcluded);
        await _handlers.HandleAsync(new PlayerSelfExcluded(player, "6-months", Now, Now.AddMonths(6)), null!, default);

        Assert.Equal(BetRejectionCodes.SelfExcluded, (await CheckAsync(player, session))?.Code);
        Assert.Equal(BetRejectionCodes.SelfExcluded, (await CheckAsync(player, null))?.Code);
        Assert.Null(await CheckAsync(other, session));
        Assert.Equal(4, _users.ChecksOf(player));
        Assert.Equal(1, _users.ChecksOf(other)); // still remembered
    }

    [Fact]
    public async Task After_a_KYC_change_the_players_next_check_asks_Users_again()
    {
        var player = Guid.NewGuid();
        Assert.Null(await CheckAsync(player, null));

        _users.Refuse(player, BetRejectionCodes.KycTierTooLow);
        await _handlers.HandleAsync(new KycStatusChanged(player, "rejected", 0, "document expired", Now), null!, default);

        Assert.Equal(BetRejectionCodes.KycTierTooLow, (await CheckAsync(player, null))?.Code);
        Assert.Equal(2, _users.ChecksOf(player));
    }

    [Fact]
    public async Task A_check_in_flight_when_the_player_self_excludes_answers_its_bets_but_is_not_remembered()
    {
        var player = Guid.NewGuid();
        var release = _users.HoldNextCall();
        var inFlight = CheckAsync(player, null);
        Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(_users.ChecksOf(player) == 1)));

        // Users answered "allowed" before the exclusion; the answer arrives after the event.
        _users.Refuse(player, BetRejectionCodes.SelfExcluded);
        await _handlers.HandleAsync(new PlayerSelfExcluded(player, "indefinite", Now, null), null!, default);
        release.SetResult();

        Assert.Null(await inFlight);
        Assert.Equal(BetRejectionCodes.SelfExcluded, (await CheckAsync(player, null))?.Code);
        Assert.Equal(2, _users.ChecksOf(player));
    }

    private Task<BetRejection?> CheckAsync(Guid userId, Guid? sessionId) => _eligibility.CheckAsync(userId, sessionId, CancellationToken.None);

    /// <summary>
    /// Users.CheckEligibilityBatch as the test sets it: everyone may bet unless refused. Each call reads the answers when
    /// it arrives, as Users reads its database; the next call can be held before its reply comes back.
    /// </summary>
    private sealed class ScriptedUsers : CallInvoker
    {
        private readonly ConcurrentDictionary<string, string> _refusals = new();
        private readonly ConcurrentQueue<CheckEligibilityRequest> _checks = new();
        private TaskCompletionSource? _hold;

        public void Refuse(Guid userId, string reason) => _refusals[userId.ToString()] = reason;

        public TaskCompletionSource HoldNextCall() =>
            _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public int ChecksOf(Guid userId) => _checks.Count(check => check.UserId == userId.ToString());

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            var reply = new CheckEligibilityBatchReply();
            foreach (var check in ((CheckEligibilityBatchRequest)(object)request).Checks)
            {
                _checks.Enqueue(check);
                reply.Replies.Add(_refusals.TryGetValue(check.UserId, out var reason)
                    ? new CheckEligibilityReply { Allowed = false, Reason = reason }
                    : new CheckEligibilityReply { Allowed = true });
            }
            var answer = ReplyAsync(reply, Interlocked.Exchange(ref _hold, null));
            return new AsyncUnaryCall<TResponse>((Task<TResponse>)(object)answer, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        private static async Task<CheckEligibilityBatchReply> ReplyAsync(CheckEligibilityBatchReply reply, TaskCompletionSource? hold)
        {
            if (hold is not null)
            {
                await hold.Task;
            }
            return reply;
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => throw new NotSupportedException();

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) => throw new NotSupportedException();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) => throw new NotSupportedException();
    }
}
