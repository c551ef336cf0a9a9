using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Time.Testing;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Tests;

[Collection(StackCollection.Name)]
public sealed class HubCallBudgetTests(RealtimeStack stack)
{
    [Fact]
    public async Task A_connection_looping_catch_up_is_rate_limited_and_others_are_not()
    {
        await using var looping = await stack.ConnectAsync();
        await using var other = await stack.ConnectAsync();
        var stream = $"pool:{Guid.NewGuid()}";
        var answered = 0;

        var refused = await Assert.ThrowsAsync<HubException>(async () =>
        {
            for (; answered < 10_000; answered++)
            {
                await looping.InvokeAsync<List<JsonElement>>("CatchUp", stream, 0L);
            }
        });

        Assert.Equal("rate-limited", Refusal.Code(refused));
        Assert.Contains("Try again in", refused.Message, StringComparison.Ordinal);
        // A signed-out network's burst less the permissions read on connect, plus what refilled (50 a second) while the loop ran.
        Assert.InRange(answered, 2_499, 3_500);
        Assert.Empty(await other.InvokeAsync<List<JsonElement>>("CatchUp", stream, 0L));
    }

    [Fact]
    public async Task A_connection_looping_refused_moderation_calls_is_rate_limited()
    {
        await using var viewer = await stack.ConnectAsync(Guid.NewGuid());
        var channel = TestEvents.NewChannel();
        var refusedAsViewer = 0;

        string code;
        do
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync("BanUser", channel, Guid.NewGuid()));
            code = Refusal.Code(refused);
        }
        while (code == "not-a-moderator" && ++refusedAsViewer < 1_000);

        Assert.Equal("rate-limited", code);
        Assert.InRange(refusedAsViewer, 524, 700); // the burst less the permissions read on connect, plus what refilled while the loop ran
    }

    [Fact]
    public async Task A_connection_looping_chat_sends_runs_out_of_its_call_budget()
    {
        // The chat's own limit refuses all but the first five sends, but each refusal still costs Redis work.
        await using var chatty = await stack.ConnectAsync(Guid.NewGuid());
        var channel = TestEvents.NewChannel();
        HubException? outOfBudget = null;
        var calls = 0;

        for (; outOfBudget is null && calls < 1_000; calls++)
        {
            try
            {
                await chatty.InvokeAsync<JsonElement>("SendChat", channel, "spam");
            }
            catch (HubException refused) when (Refusal.Code(refused) == "rate-limited")
            {
                outOfBudget = refused.Message.Contains("moderation calls at once", StringComparison.Ordinal) ? refused : null;
            }
        }

        Assert.NotNull(outOfBudget);
        Assert.InRange(calls, 524, 700); // the burst less the permissions read on connect, plus what refilled while the loop ran
    }

    [Fact]
    public async Task A_connection_looping_chat_permission_reads_is_rate_limited()
    {
        await using var viewer = await stack.ConnectAsync(Guid.NewGuid());
        var channel = TestEvents.NewChannel();
        var answered = 0;

        var refused = await Assert.ThrowsAsync<HubException>(async () =>
        {
            for (; answered < 1_000; answered++)
            {
                await viewer.InvokeAsync<JsonElement>("GetChatPermissions", channel);
            }
        });

        Assert.Equal("rate-limited", Refusal.Code(refused));
        Assert.InRange(answered, 524, 700); // the burst less the permissions read on connect, plus what refilled while the loop ran
    }

    [Fact]
    public async Task A_channel_page_that_reconnects_and_moves_to_another_channel_stays_within_the_budget()
    {
        await using var client = await stack.ConnectAsync();
        var first = (Channel: TestEvents.NewChannel(), Pools: NewPools());
        var second = (Channel: TestEvents.NewChannel(), Pools: NewPools());

        // On (re)connect the page watches its channel and live pools (50 at most), catches up on each and reads the chat.
        await WatchAsync(first.Channel, first.Pools);
        foreach (var stream in first.Pools.Select(p => $"pool:{p}").Append($"channel:{first.Channel}"))
        {
            await client.InvokeAsync<List<JsonElement>>("CatchUp", stream, 0L);
        }
        await client.InvokeAsync<List<JsonElement>>("GetChatHistory", first.Channel);

        // Then straight to another channel's page.
        foreach (var pool in first.Pools)
        {
            await client.InvokeAsync("UnwatchPool", pool);
        }
        await client.InvokeAsync("UnwatchChannel", first.Channel);
        await WatchAsync(second.Channel, second.Pools);
        await client.InvokeAsync<List<JsonElement>>("GetChatHistory", second.Channel);

        async Task WatchAsync(string channel, Guid[] pools)
        {
            await client.InvokeAsync("WatchChannel", channel);
            foreach (var pool in pools)
            {
                await client.InvokeAsync("WatchPool", pool);
            }
        }
    }

    [Fact]
    public void A_drained_budget_gives_calls_back_at_its_rate_up_to_the_burst()
    {
        var clock = new FakeTimeProvider();
        var budget = new ReadCallBudget(burst: 3, perSecond: 2, clock);
        Assert.All(Enumerable.Range(0, 3), _ => Assert.True(budget.TryTake(out var _)));

        Assert.False(budget.TryTake(out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(500), retryAfter);
        clock.Advance(retryAfter);
        Assert.True(budget.TryTake(out _));
        Assert.False(budget.TryTake(out _));

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => budget.TryTake(out var _)));
    }

    private static Guid[] NewPools() => [.. Enumerable.Range(0, 50).Select(_ => Guid.NewGuid())];
}
