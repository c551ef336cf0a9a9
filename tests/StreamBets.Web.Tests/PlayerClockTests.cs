using System.Globalization;
using Bunit;
using Microsoft.JSInterop;

namespace StreamBets.Web.Tests;

/// <summary>
/// The player's clock is the browser's: where the moment matters it names its offset from UTC, and a zone the browser
/// cannot give, or this server does not know, shows UTC.
/// </summary>
public sealed class PlayerClockTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 3, 15, 18, 30, 0, TimeSpan.Zero);
    private readonly BunitContext _bunit = new();

    [Fact]
    public async Task A_time_in_the_browsers_zone_names_its_offset_from_UTC()
    {
        _bunit.BrowserTimeZone("America/Sao_Paulo");
        var clock = new PlayerClock(_bunit.JSInterop.JSRuntime);

        await clock.ReadZoneAsync();

        Assert.Equal($"{new DateTime(2026, 3, 15, 15, 30, 0).ToString("g", CultureInfo.CurrentCulture)} (UTC-03:00)", clock.FormatWithZone(At));
    }

    [Fact]
    public async Task A_browser_that_cannot_say_its_zone_is_shown_UTC()
    {
        _bunit.JSInterop.Setup<string?>(PlayerClock.ZoneFunction).SetException(new JSException("streamBets is not defined"));
        var clock = new PlayerClock(_bunit.JSInterop.JSRuntime);

        await clock.ReadZoneAsync();

        Assert.Equal($"{At.UtcDateTime.ToString("g", CultureInfo.CurrentCulture)} (UTC)", clock.FormatWithZone(At));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("America")] // a folder of the zoneinfo database: SecurityException on Linux
    [InlineData("posix")]
    public void A_zone_the_server_does_not_know_is_UTC(string? id) => Assert.Equal(TimeZoneInfo.Utc, PlayerClock.FindZone(id));

    public void Dispose() => _bunit.Dispose();
}
