using StreamBets.Web.Betting;

namespace StreamBets.Web.Tests;

public sealed class CountdownTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 20, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(0.2, "0:01")]
    [InlineData(9, "0:09")]
    [InlineData(65, "1:05")]
    [InlineData(599.5, "10:00")]
    [InlineData(3_600, "1:00:00")]
    [InlineData(3_909, "1:05:09")]
    public void Remaining_time_reads_as_minutes_and_seconds_rounded_up(double seconds, string text)
    {
        Assert.Equal(text, Countdown.Format(TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void A_pool_past_its_lock_time_shows_zero_never_a_negative_time()
    {
        Assert.Equal(TimeSpan.Zero, Countdown.Remaining(Now.AddSeconds(-30), Now));
        Assert.Equal(TimeSpan.Zero, Countdown.Remaining(null, Now));
        Assert.Equal("0:00", Countdown.Format(TimeSpan.FromSeconds(-5)));
    }

    [Fact]
    public void Only_the_last_ten_seconds_are_urgent()
    {
        Assert.True(Countdown.IsUrgent(TimeSpan.FromSeconds(10)));
        Assert.False(Countdown.IsUrgent(TimeSpan.FromSeconds(11)));
        Assert.False(Countdown.IsUrgent(TimeSpan.Zero));
    }
}
