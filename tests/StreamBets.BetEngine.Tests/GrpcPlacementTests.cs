using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Contracts.Bets;

namespace StreamBets.BetEngine.Tests;

[Collection(StackCollection.Name)]
public sealed class GrpcPlacementTests(BetEngineStack stack)
{
    [Fact]
    public async Task PlaceBet_over_grpc_moves_the_stake_and_a_replay_answers_the_same_bet()
    {
        var pool = await stack.NewPoolAsync();
        var player = await stack.NewPlayerAsync(5_000);
        using var channel = stack.BetEngineGrpcChannel();
        var client = new Contracts.Bets.BetEngine.BetEngineClient(channel);
        var request = new PlaceBetRequest
        {
            UserId = player.Id.ToString(),
            PoolId = pool.Id.ToString(),
            OutcomeId = pool.Outcomes[1].ToString(),
            StakeMinor = 1_200,
            IdempotencyKey = "grpc-1",
        };

        var first = await client.PlaceBetAsync(request);
        var replay = await client.PlaceBetAsync(request);

        Assert.Equal(BetStatus.Accepted, first.Bet.Status);
        Assert.False(first.Replayed);
        Assert.True(replay.Replayed);
        Assert.Equal(first.Bet, replay.Bet);
        Assert.Equal(3_800, await stack.BalanceAsync(player.Account));
        Assert.Equal(1_200, await stack.BalanceAsync(pool.Escrow));
    }

    [Fact]
    public async Task A_rejection_over_grpc_carries_the_problem_code_as_its_error_reason()
    {
        var pool = await stack.NewPoolAsync(maxStakeMinor: 1_000);
        var player = await stack.NewPlayerAsync(5_000);
        using var channel = stack.BetEngineGrpcChannel();
        var client = new Contracts.Bets.BetEngine.BetEngineClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.PlaceBetAsync(new PlaceBetRequest
        {
            UserId = player.Id.ToString(),
            PoolId = pool.Id.ToString(),
            OutcomeId = pool.Outcomes[0].ToString(),
            StakeMinor = 1_001,
            IdempotencyKey = "grpc-2",
        }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        var info = error.GetRpcStatus()!.GetDetail<ErrorInfo>();
        Assert.Equal("stake-out-of-range", info.Reason);
        Assert.Equal("bets.streambets.dev", info.Domain);
        Assert.Equal(5_000, await stack.BalanceAsync(player.Account));
    }

    [Theory]
    [InlineData("nul\0key")]
    [InlineData("bell\u0007")]
    [InlineData("line\nbreak")]
    public async Task An_idempotency_key_with_a_control_character_is_refused_alone_and_the_bets_beside_it_are_placed(string key)
    {
        var pool = await stack.NewPoolAsync();
        var (opener, odd, fine) = (await stack.NewPlayerAsync(5_000), await stack.NewPlayerAsync(5_000), await stack.NewPlayerAsync(5_000));
        using var channel = stack.BetEngineGrpcChannel();
        var client = new Contracts.Bets.BetEngine.BetEngineClient(channel);
        PlaceBetRequest Bet(TestPlayer player, string idempotencyKey) => new()
        {
            UserId = player.Id.ToString(),
            PoolId = pool.Id.ToString(),
            OutcomeId = pool.Outcomes[0].ToString(),
            StakeMinor = 1_000,
            IdempotencyKey = idempotencyKey,
        };
        // A held batch makes the next two bets queue together, so they would share one batch.
        using var hold = stack.StakeHold.Arm(pool.Id);
        var batchers = stack.BetEngine.GetRequiredService<Placement.PoolBatchers>();
        Task<PlaceBetReply> opening, placing;
        RpcException error;
        try
        {
            opening = client.PlaceBetAsync(Bet(opener, Guid.NewGuid().ToString())).ResponseAsync;
            await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30));
            var refusing = client.PlaceBetAsync(Bet(odd, key)).ResponseAsync;
            placing = client.PlaceBetAsync(Bet(fine, Guid.NewGuid().ToString())).ResponseAsync;
            // Each bet is answered or queued behind the held batch: any that reached the queue go in the same next batch.
            Assert.True(await BetEngineStack.EventuallyAsync(() => Task.FromResult(
                batchers.QueuedBets(pool.Id) + (refusing.IsCompleted ? 1 : 0) + (placing.IsCompleted ? 1 : 0) == 2)), "The bets were never queued.");
            hold.Release();
            error = await Assert.ThrowsAsync<RpcException>(() => refusing);
        }
        finally
        {
            hold.Release();
        }

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("invalid-request", error.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason);
        Assert.Contains("idempotency_key", error.Status.Detail);
        Assert.Equal(BetStatus.Accepted, (await opening).Bet.Status);
        Assert.Equal(BetStatus.Accepted, (await placing).Bet.Status);
        Assert.Equal(5_000, await stack.BalanceAsync(odd.Account));
        Assert.Equal(2_000, await stack.BalanceAsync(pool.Escrow));
    }
}
