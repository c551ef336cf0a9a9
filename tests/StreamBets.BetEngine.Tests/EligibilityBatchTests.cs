using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StreamBets.BetEngine.Extensions;
using StreamBets.BetEngine.Eligibility;
using StreamBets.BetEngine.Placement;
using StreamBets.Contracts.Users;
using StreamBets.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>Eligibility misses go to Users in batches: a rush of players the Bet Engine has not seen is neither a call
/// each nor refused for it.</summary>
[Collection(StackCollection.Name)]
public sealed class EligibilityBatchTests(BetEngineStack stack)
{
    [Fact]
    public async Task A_rush_of_players_not_seen_before_is_checked_once_each_in_a_few_calls_and_nobody_is_told_Users_is_unavailable()
    {
        var eligibility = stack.BetEngine.GetRequiredService<EligibilityCache>();
        // More than the gRPC client's 1,000 concurrent calls, which refused the rest when every miss was a call.
        var strangers = Enumerable.Range(0, 1_500).Select(_ => Guid.NewGuid()).ToArray();

        var answers = await Task.WhenAll(strangers.Select(id => eligibility.CheckAsync(id, null, CancellationToken.None)));

        Assert.All(answers, answer => Assert.Equal(BetRejectionCodes.UserNotFound, answer?.Code));
        var calls = stack.EligibilityCalls.Sent.Select(UserIds).Where(call => call.Intersect(strangers).Any()).ToList();
        Assert.Equal(strangers.Order(), calls.SelectMany(call => call).Order());
        Assert.InRange(calls.Count, 1_500 / EligibilityCache.MaxBatchSize, 10);
        Assert.All(calls, call => Assert.InRange(call.Length, 1, EligibilityCache.MaxBatchSize));
    }

    [Fact]
    public async Task With_Users_unreachable_a_call_fails_at_once_rather_than_retrying_until_its_deadline()
    {
        // The Bet Engine's own client registrations, with Users at an address where nothing listens (refused at once).
        var builder = Host.CreateApplicationBuilder();
        builder.AddServiceDefaults();
        builder.Configuration["services:users:grpc:0"] = "http://127.0.0.1:1";
        builder.Services.AddDependencyClients();
        using var host = builder.Build();
        var users = host.Services.GetRequiredService<UserAccounts.UserAccountsClient>();

        Task<RpcException> Call() => Assert.ThrowsAsync<RpcException>(async () =>
            await users.CheckEligibilityBatchAsync(new CheckEligibilityBatchRequest(), deadline: DateTime.UtcNow.AddSeconds(5)));
        // The first call also pays the fresh host's cold start (JIT, channel, discovery): only the second one is timed.
        Assert.Equal(StatusCode.Unavailable, (await Call()).StatusCode);

        // A retried refusal (2, 4, 8 s apart) would hold the pool's batch to the call's 5 s deadline.
        var waited = Stopwatch.StartNew();
        var refused = await Call();
        waited.Stop();

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(2), $"The call waited {waited.Elapsed.TotalSeconds:F1} s.");
    }

    [Fact]
    public async Task A_failed_call_answers_its_checks_Users_unavailable_and_the_next_check_asks_again()
    {
        var eligibility = stack.BetEngine.GetRequiredService<EligibilityCache>();
        var player = Guid.NewGuid();
        stack.EligibilityCalls.FailNext();

        var error = await Assert.ThrowsAsync<DependencyUnavailableException>(() => eligibility.CheckAsync(player, null, CancellationToken.None));
        var retried = await eligibility.CheckAsync(player, null, CancellationToken.None);

        Assert.Equal("Users", error.Dependency);
        Assert.Equal(BetRejectionCodes.UserNotFound, retried?.Code);
        Assert.Equal(2, stack.EligibilityCalls.Sent.Count(call => UserIds(call).Contains(player)));
    }

    [Fact]
    public async Task The_request_that_waited_for_a_check_links_to_the_batch_that_carried_it()
    {
        using var batches = new RecordedActivities(BetBatchPipeline.ActivitySource.Name);
        using var requests = new RecordedActivities("StreamBets.BetEngine.Tests.Requests");
        using var requestSource = new ActivitySource("StreamBets.BetEngine.Tests.Requests");
        var eligibility = stack.BetEngine.GetRequiredService<EligibilityCache>();

        var request = requestSource.StartActivity("place bet")!;
        var answer = await eligibility.CheckAsync(Guid.NewGuid(), null, CancellationToken.None);
        request.Stop();

        Assert.Equal(BetRejectionCodes.UserNotFound, answer?.Code);
        var link = Assert.Single(request.Links);
        // The batch's span ends just after it answered.
        Activity? batch = null;
        Assert.True(await BetEngineStack.EventuallyAsync(() =>
            Task.FromResult((batch = batches.Stopped.SingleOrDefault(a => a.DisplayName == "check eligibility batch" && a.SpanId == link.Context.SpanId)) is not null)));
        Assert.Equal(batch!.TraceId, link.Context.TraceId);
        Assert.NotEqual(request.TraceId, batch.TraceId);
        Assert.Equal(1, batch.GetTagItem("streambets.eligibility.batch_size"));
    }

    private static Guid[] UserIds(CheckEligibilityBatchRequest call) => [.. call.Checks.Select(check => Guid.Parse(check.UserId))];
}
