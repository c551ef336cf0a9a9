using System.Globalization;
using System.Text;
using StreamBets.Realtime.Hubs;

namespace StreamBets.Realtime.Chat;

/// <summary>
/// What a chat message may say: trimmed, on one line, without invisible format characters, at most
/// <see cref="MaxMarksPerCharacter"/> combining marks on a character, something visible, 1 to <c>maxLength</c> characters
/// (code points of the composed form, <see cref="ShownText.ComposedLength"/>).
/// </summary>
public static class ChatText
{
    /// <summary>
    /// Combining marks kept on one character; the rest are dropped. Vietnamese stacks two, pointed Hebrew with
    /// cantillation and Indic or Tibetan syllables up to four; "zalgo" text stacks dozens, which spill over the lines
    /// around the message.
    /// </summary>
    public const int MaxMarksPerCharacter = 4;

    public static string Clean(string? text, int maxLength)
    {
        var runes = (text ?? "").EnumerateRunes().ToArray();
        var cleaned = new StringBuilder(runes.Length);
        var marks = 0;
        for (var i = 0; i < runes.Length; i++)
        {
            var category = Rune.GetUnicodeCategory(runes[i]);
            var isMark = category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark;
            // Counted per base character: a format character between marks (dropped, or a kept joiner) starts no new count.
            marks = isMark ? marks + 1 : category == UnicodeCategory.Format ? marks : 0;
            if (category is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                // Newlines of any kind become spaces (U+2028 too, which ends a line in JavaScript), so one message is one line.
                cleaned.Append(' ');
            }
            else if (isMark ? marks <= MaxMarksPerCharacter : category != UnicodeCategory.Format || IsJoinerBetweenVisibles(runes, i))
            {
                cleaned.Append(runes[i].ToString());
            }
            // Other format characters are dropped: zero-width spaces, word joiners and BOMs hide text or make a blank
            // message, and bidi overrides and isolates make a message read as something else.
        }

        var result = cleaned.ToString().Trim();
        if (!result.EnumerateRunes().Any(ShowsSomething))
        {
            throw new RefusedException("message-empty", "Write something first: the message is empty.");
        }
        // Counted as Pools counts a title, in code points of the composed form: an emoji is one, not two UTF-16 units.
        var length = ShownText.ComposedLength(result);
        if (length > maxLength)
        {
            throw new RefusedException("message-too-long", $"Messages are at most {maxLength} characters; this one has {length}.");
        }
        return result;
    }

    /// <summary>
    /// The zero-width joiner builds emoji sequences (family, rainbow flag) and the non-joiner is spelling in Persian and
    /// Indic scripts; both mean something only between two visible characters, so only there are they kept. A message of
    /// joiners alone is then empty.
    /// </summary>
    private static bool IsJoinerBetweenVisibles(Rune[] runes, int i) =>
        runes[i].Value is 0x200C or 0x200D && i > 0 && i < runes.Length - 1 && IsVisible(runes[i - 1]) && IsVisible(runes[i + 1]);

    private static bool IsVisible(Rune rune) =>
        !Rune.IsWhiteSpace(rune) && Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Control or UnicodeCategory.Format);

    /// <summary>
    /// Whether the character draws anything. Kept characters that draw nothing cannot make a message on their own: the
    /// default-ignorable ones that are not format characters (variation selectors, the combining grapheme joiner, the
    /// Mongolian free variation selectors), the Hangul fillers (letters to Unicode, blank on screen) and the blank
    /// braille pattern.
    /// </summary>
    private static bool ShowsSomething(Rune rune) => IsVisible(rune) && !ShownText.DrawsNothing(rune) && rune.Value != ShownText.BrailleBlank;
}
