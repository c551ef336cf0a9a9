using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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
        var budget = stack.ServicesA.GetRequiredService<IOptions<RealtimeOptions>>().Value;
        var player = Guid.NewGuid();
        var first = (Channel: TestEvents.NewChannel(), Pools: NewPools());
        var second = (Channel: TestEvents.NewChannel(), Pools: NewPools());
        var clock = Stopwatch.StartNew();
        var calls = 0; // every call the page makes takes one of the player's budget, and so does the permissions read on connect

        await using (var page = await stack.ConnectAsync(player))
        {
            calls++;
            await OpenAsync(page, first);
        }
        // Its socket dropped: the page reconnects as the same player, opens its channel again, then moves to another one.
        await using var reconnected = await stack.ConnectAsync(player);
        calls++;
        await OpenAsync(reconnected, first);
        foreach (var pool in first.Pools)
        {
            await Call(reconnected, "UnwatchPool", pool);
        }
        await Call(reconnected, "UnwatchChannel", first.Channel);
        await OpenAsync(reconnected, second);

        // The calls of both connections came out of one budget: what is left is the burst less all of them, plus the refill
        // (far fewer than the first connection's calls while the test runs, so a budget per connection would leave more).
        var left = 0;
        var refused = await Assert.ThrowsAsync<HubException>(async () =>
        {
            for (; left < budget.ReadCallBurst; left++)
            {
                await reconnected.InvokeAsync<JsonElement>("GetChatPermissions", second.Channel);
            }
        });
        var refilled = (int)Math.Ceiling(clock.Elapsed.TotalSeconds * budget.ReadCallsPerSecond);

        Assert.Equal("rate-limited", Refusal.Code(refused));
        Assert.InRange(left, budget.ReadCallBurst - calls, budget.ReadCallBurst - calls + refilled);

        // On (re)connect the page watches its channel and live pools (50 at most), catches up on each and reads the chat.
        async Task OpenAsync(LiveClient client, (string Channel, Guid[] Pools) page)
        {
            await Call(client, "WatchChannel", page.Channel);
            foreach (var pool in page.Pools)
            {
                await Call(client, "WatchPool", pool);
            }
            foreach (var stream in page.Pools.Select(p => $"pool:{p}").Append($"channel:{page.Channel}"))
            {
                await client.InvokeAsync<List<JsonElement>>("CatchUp", stream, 0L);
                calls++;
            }
            await client.InvokeAsync<List<JsonElement>>("GetChatHistory", page.Channel);
            calls++;
        }

        async Task Call(LiveClient client, string method, object argument)
        {
            await client.InvokeAsync(method, argument);
            calls++;
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
