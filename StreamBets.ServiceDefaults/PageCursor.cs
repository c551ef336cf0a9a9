using System.Text;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Where a keyset-paged list ends: the last item's time and id, as an opaque URL-safe string. A newest-first list
/// asks for rows strictly before (<see cref="At"/>, <see cref="Id"/>), so rows written meanwhile never shift a page.
/// </summary>
public sealed record PageCursor(DateTimeOffset At, Guid Id)
{
    public override string ToString() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{At.UtcTicks}:{Id:N}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>True for a cursor this type issued (null for none, the first page); false for anything else.</summary>
    public static bool TryParse(string? text, out PageCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        try
        {
            var padded = text.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(padded)).Split(':');
            if (parts.Length == 2 && long.TryParse(parts[0], out var ticks) && ticks >= 0 && ticks <= DateTimeOffset.MaxValue.UtcTicks
                && Guid.TryParseExact(parts[1], "N", out var id))
            {
                cursor = new PageCursor(new DateTimeOffset(ticks, TimeSpan.Zero), id);
                return true;
            }
        }
        catch (FormatException)
        {
        }
        return false;
    }
}
