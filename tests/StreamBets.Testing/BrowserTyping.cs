using System.Globalization;
using System.Text;

namespace StreamBets.Testing;

/// <summary>What a browser lets a user type into an input, for page tests that type the way a user would.</summary>
public static class BrowserTyping
{
    /// <summary>
    /// <paramref name="text"/> as typed into an input whose <c>maxlength</c> attribute is <paramref name="maxLength"/>
    /// (null: none): the typing stops at that many UTF-16 units (how HTML counts it: most emoji are two), never inside a
    /// character.
    /// </summary>
    public static string Typed(string text, string? maxLength)
    {
        if (maxLength is null)
        {
            return text;
        }
        var max = int.Parse(maxLength, CultureInfo.InvariantCulture);
        var typed = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (typed.Length + rune.Utf16SequenceLength > max)
            {
                break;
            }
            typed.Append(rune.ToString());
        }
        return typed.ToString();
    }
}
