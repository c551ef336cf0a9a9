using Microsoft.Extensions.Hosting;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace StreamBets.BetEngine.Tests;

/// <summary>
/// The loop under the Bet Engine's recovery and cleanup (and Pools' and Users' cleanups): rounds on the clock, a failed
/// round reported and followed by the next, the service's stop quiet.
/// </summary>
public sealed class PeriodicRoundsTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly ArmedClock _clock = new();
    private readonly Channel<int> _rounds = Channel.CreateUnbounded<int>();
    private readonly List<Exception> _failures = [];
    private int _count;

    [Fact]
    public async Task The_first_round_comes_one_interval_after_start_and_a_failed_round_is_reported_and_followed_by_the_next()
    {
        using var stopping = new CancellationTokenSource();
        var loop = PeriodicRounds.RunAsync(Interval, _clock, Round(failFirst: true), _failures.Add, stopping.Token);

        await WaitUntilWaitingAsync();
        _clock.Advance(Interval - TimeSpan.FromSeconds(1));
        await Task.Delay(100); // time for a round the clock wrongly let through to show
        Assert.False(_rounds.Reader.TryRead(out _), "A round ran before its interval.");
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await NextRoundAsync());

        await WaitUntilWaitingAsync();
        Assert.Equal("round 1 failed", Assert.Single(_failures).Message);
        _clock.Advance(Interval);
        Assert.Equal(2, await NextRoundAsync());

        await stopping.CancelAsync();
        await loop.WaitAsync(Wait);
        Assert.Single(_failures);
    }

    [Fact]
    public async Task The_first_round_can_run_at_start()
    {
        using var stopping = new CancellationTokenSource();
        var loop = PeriodicRounds.RunAsync(Interval, _clock, Round(failFirst: false), _failures.Add, stopping.Token, firstRoundAtStart: true);

        Assert.Equal(1, await NextRoundAsync());
        await stopping.CancelAsync();
        await loop.WaitAsync(Wait);
        Assert.Empty(_failures);
    }

    [Fact]
    public async Task A_stop_in_the_middle_of_a_round_ends_the_loop_quietly_but_a_timeout_is_a_failed_round()
    {
        using var stopping = new CancellationTokenSource();
        using var timeout = new CancellationTokenSource();
        var inRound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        var loop = PeriodicRounds.RunAsync(Interval, _clock, async token =>
        {
            if (++count == 1)
            {
                throw new OperationCanceledException(timeout.Token); // a database timeout surfaces as a cancellation
            }
            inRound.SetResult();
            await Task.Delay(Timeout.Infinite, token);
        }, _failures.Add, stopping.Token, firstRoundAtStart: true);

        await WaitUntilWaitingAsync();
        Assert.IsType<OperationCanceledException>(Assert.Single(_failures));
        _clock.Advance(Interval);
        await inRound.Task.WaitAsync(Wait);

        await stopping.CancelAsync();
        await loop.WaitAsync(Wait);
        Assert.Single(_failures);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task An_interval_of_zero_or_less_is_refused_rather_than_spinning_or_never_running(int milliseconds)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            PeriodicRounds.RunAsync(TimeSpan.FromMilliseconds(milliseconds), _clock, Round(failFirst: false), _failures.Add, CancellationToken.None));
        Assert.Equal(0, _count);
    }

    private Func<CancellationToken, Task> Round(bool failFirst) => _ =>
    {
        var round = Interlocked.Increment(ref _count);
        _rounds.Writer.TryWrite(round);
        return failFirst && round == 1 ? Task.FromException(new InvalidOperationException("round 1 failed")) : Task.CompletedTask;
    };

    private async Task<int> NextRoundAsync() => await _rounds.Reader.ReadAsync().AsTask().WaitAsync(Wait);

    /// <summary>Until the loop has armed its next wait on the clock, so that advancing the clock reaches it.</summary>
    private async Task WaitUntilWaitingAsync() => Assert.True(await _clock.Armed.WaitAsync(Wait), "The loop never waited for its next round.");

    /// <summary>A fake clock that tells when a timer (the loop's wait) is armed on it.</summary>
    private sealed class ArmedClock : FakeTimeProvider
    {
        public SemaphoreSlim Armed { get; } = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Armed.Release();
            return timer;
        }
    }
}
