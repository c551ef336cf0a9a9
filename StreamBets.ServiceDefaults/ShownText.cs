using System.Globalization;
using System.Text;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Text other people are shown (display names, pool titles, outcome labels) must read as what it is. Judged by code
/// point, not UTF-16 unit.
/// </summary>
public static class ShownText
{
    /// <summary>
    /// Control characters, line and paragraph separators (such text is one line), and invisible format characters such
    /// as bidi overrides (which make "\u202EdeR" read as "Red"), zero-width spaces and tag characters (which make
    /// "Yes" and "Yes\u200B" two labels that look the same). The joiners that build emoji and spell Persian or Indic
    /// words are fine between two visible characters, and only there.
    /// </summary>
    public static bool HidesCharacters(string text)
    {
        var runes = text.EnumerateRunes().ToArray();
        for (var i = 0; i < runes.Length; i++)
        {
            if (IsHidden(runes[i]) && !(runes[i].Value is 0x200C or 0x200D && i > 0 && i < runes.Length - 1 && !IsHidden(runes[i - 1]) && !IsHidden(runes[i + 1])))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A character that is not shown as itself: a control, format or line-breaking character.</summary>
    public static bool IsHidden(Rune rune) => Rune.GetUnicodeCategory(rune)
        is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
