using System.Globalization;
using Microsoft.JSInterop;

namespace StreamBets.Web;

/// <summary>
/// The player's wall clock. Under Blazor Server the process's local time is the server's, so times are shown in the
/// browser's time zone, asked for once per circuit: UTC until it answers, and when it cannot say or names a zone this
/// server does not know.
/// </summary>
public sealed class PlayerClock(IJSRuntime js)
{
    /// <summary>The app.js function answering the browser's IANA time zone id.</summary>
    public const string ZoneFunction = "streamBets.timeZone";

    private Task? _reading;

    public TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;

    /// <summary>Asks the browser for its zone the first time; the circuit's later pages share that answer.</summary>
    public Task ReadZoneAsync() => _reading ??= ReadAsync();

    private async Task ReadAsync()
    {
        try
        {
            Zone = FindZone(await js.InvokeAsync<string?>(ZoneFunction));
        }
        catch (Exception e) when (e is JSException or TaskCanceledException)
        {
            // An app.js from before the function (a cached shell), or no answer in time: times stay in UTC, and say so.
        }
    }

    public static TimeZoneInfo FindZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return TimeZoneInfo.Utc;
        }
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or System.Security.SecurityException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            // The id comes from the browser: one naming a zoneinfo folder ("America", "posix") or a file that is not a zone
            // must not fault the reading every later page of the circuit awaits.
            return TimeZoneInfo.Utc;
        }
    }

    /// <summary>The instant on the player's clock, in the page's culture ("g": short date and time).</summary>
    public string Format(DateTimeOffset instant, string format = "g") =>
        TimeZoneInfo.ConvertTime(instant, Zone).ToString(format, CultureInfo.CurrentCulture);

    /// <summary>
    /// The instant with its offset from UTC, where the exact moment matters (an exclusion's end, a limit's raise): a
    /// player travelling, or on a browser whose zone is unknown here, still reads it right.
    /// </summary>
    public string FormatWithZone(DateTimeOffset instant, string format = "g")
    {
        var local = TimeZoneInfo.ConvertTime(instant, Zone);
        var offset = local.Offset == TimeSpan.Zero ? "" : (local.Offset < TimeSpan.Zero ? "-" : "+") + local.Offset.ToString(@"hh\:mm", CultureInfo.InvariantCulture);
        return $"{local.ToString(format, CultureInfo.CurrentCulture)} (UTC{offset})";
    }
}
