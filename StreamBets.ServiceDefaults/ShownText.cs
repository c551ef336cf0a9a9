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
    /// The length of text kept trimmed and in Unicode's composed form (NFC), in code points as PostgreSQL's varchar(n)
    /// counts: a flag is two, a family emoji up to seven (a browser's <c>maxlength</c> counts UTF-16 units, two for most
    /// emoji). Text that cannot be composed (an unpaired surrogate) is counted as it is: it is refused for what it is.
    /// </summary>
    public static int ComposedLength(string text)
    {
        var length = 0;
        foreach (var _ in TryCompose(text.Trim()).EnumerateRunes())
        {
            length++;
        }
        return length;
    }

    private static string TryCompose(string text)
    {
        try
        {
            return text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException) // both throw on an unpaired surrogate
        {
            return text;
        }
    }

    /// <summary>
    /// Control characters, line and paragraph separators (such text is one line), and invisible format characters such
    /// as bidi overrides (which make "\u202EdeR" read as "Red"), zero-width spaces and tag characters (which make
    /// "Yes" and "Yes\u200B" two labels that look the same). The joiners that build emoji and spell Persian or Indic
    /// words are fine between two characters that draw something, and only there: beside a space, a Hangul filler or the
    /// braille blank they join nothing, and "Yes \u200C No" would look like "Yes No". Right after a virama a joiner is
    /// fine whatever follows: it chooses how the consonant before it is drawn, as in the Malayalam chillu "ന്\u200D" or the
    /// Bengali khanda-ta "ত্\u200D" at a word's end.
    /// </summary>
    public static bool HidesCharacters(string text)
    {
        var runes = text.EnumerateRunes().ToArray();
        for (var i = 0; i < runes.Length; i++)
        {
            if (IsHidden(runes[i]) && !(runes[i].Value is 0x200C or 0x200D && JoinsSomething(runes, i)))
            {
                return true;
            }
        }
        return false;
    }

    private static bool JoinsSomething(Rune[] runes, int i) =>
        (i > 0 && IsVirama(runes[i - 1])) || (DrawsSomethingBefore(runes, i) && i < runes.Length - 1 && DrawsSomething(runes[i + 1]));

    /// <summary>
    /// The viramas of the Indic scripts whose spelling uses a joiner after one (Unicode's South Asian scripts chapter):
    /// Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam and Sinhala's al-lakuna. Listed
    /// by hand: .NET has no canonical combining class to find every virama (class 9) by.
    /// </summary>
    private static bool IsVirama(Rune rune) => rune.Value
        is 0x094D or 0x09CD or 0x0A4D or 0x0ACD or 0x0B4D or 0x0BCD or 0x0C4D or 0x0CCD or 0x0D4D or 0x0DCA;

    /// <summary>
    /// Whether the character before <paramref name="i"/> draws something, looking past the marks that only restyle it:
    /// the rainbow flag is a white flag, its emoji selector U+FE0F, a joiner and a rainbow.
    /// </summary>
    private static bool DrawsSomethingBefore(Rune[] runes, int i)
    {
        var before = i - 1;
        while (before >= 0 && DrawsNothing(runes[before]) && Rune.GetUnicodeCategory(runes[before]) == UnicodeCategory.NonSpacingMark)
        {
            before--;
        }
        return before >= 0 && DrawsSomething(runes[before]);
    }

    private static bool DrawsSomething(Rune rune) =>
        !IsHidden(rune) && !DrawsNothing(rune) && !Rune.IsWhiteSpace(rune) && rune.Value != BrailleBlank;

    /// <summary>
    /// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) without the joiners U+200C and U+200D (they change
    /// what an emoji or a Persian word looks like): characters drawn as nothing, or that only restyle the one before them
    /// (variation selectors: "❤️" is "❤" in colour), and the Hangul fillers, letters to Unicode that fonts draw blank.
    /// </summary>
    public static bool DrawsNothing(Rune rune) => rune.Value
        is 0x00AD or 0x034F or 0x061C or 0x115F or 0x1160 or 0x17B4 or 0x17B5 or (>= 0x180B and <= 0x180F)
        or 0x200B or (>= 0x200E and <= 0x200F) or (>= 0x202A and <= 0x202E) or (>= 0x2060 and <= 0x206F) or 0x3164
        or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF or 0xFFA0 or (>= 0xFFF0 and <= 0xFFF8) or (>= 0x1BCA0 and <= 0x1BCA3)
        or (>= 0x1D173 and <= 0x1D17A) or (>= 0xE0000 and <= 0xE0FFF);

    /// <summary>The blank braille pattern: a symbol to Unicode, drawn as a blank.</summary>
    public const int BrailleBlank = 0x2800;

    /// <summary>A character that is not shown as itself: a control, format or line-breaking character.</summary>
    public static bool IsHidden(Rune rune) => Rune.GetUnicodeCategory(rune)
        is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
