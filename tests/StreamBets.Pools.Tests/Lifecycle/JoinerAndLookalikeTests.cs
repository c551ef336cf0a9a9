using StreamBets.Pools.Lifecycle;
using static StreamBets.Pools.Tests.Lifecycle.PoolFixtures;

namespace StreamBets.Pools.Tests.Lifecycle;

/// <summary>
/// A joiner is fine only where it joins two characters that draw something, or right after an Indic virama, in the text
/// as the pool stores it, and labels are told apart as they look: a joiner between letters, a fullwidth or mathematical
/// spelling change nothing, while superscripts, symbols and Korean jamo that only decompose to plain text stay apart.
/// </summary>
public class JoinerAndLookalikeTests
{
    [Theory]
    [InlineData("Yes\u200D ")] // trimmed, the joiner ends the stored label
    [InlineData("Yes \u200C No")] // beside spaces it joins nothing: it looks like "Yes No"
    [InlineData("\u3164\u200D\u3164")] // between Hangul fillers, which draw blank
    [InlineData(" \u200D ")]
    [InlineData("Yes\u2800\u200DNo")] // beside the Braille blank
    [InlineData("\u0915\u200D \u0916")] // after a Devanagari letter, not its virama, and before a space
    public void A_joiner_beside_a_blank_or_at_an_end_once_trimmed_is_refused(string text)
    {
        var title = Pool.Create(Guid.NewGuid(), Definition() with { Title = text });
        var label = Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = ["Yes", text] });

        Assert.Equal(["title"], title.Error?.FieldErrors.Keys);
        Assert.Equal(["outcomes[1]"], label.Error?.FieldErrors.Keys);
    }

    [Theory]
    [InlineData("🏳\uFE0F\u200D🌈")] // the rainbow flag: a joiner after an emoji selector
    [InlineData("❤\uFE0F\u200D🔥")] // a heart on fire
    [InlineData("👩🏽\u200D💻")] // a skin tone before the joiner
    [InlineData("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645")] // Persian, with a non-joiner inside the word
    [InlineData("\u0915\u094D\u200D\u0937")] // Devanagari: a joiner after a virama
    public void Joiners_that_build_an_emoji_or_spell_a_word_are_fine(string text)
    {
        Assert.True(Pool.Create(Guid.NewGuid(), Definition() with { Title = text, Outcomes = [text, "Other"] }).IsSuccess);
    }

    [Theory]
    [InlineData("\u0D05\u0D35\u0D28\u0D4D\u200D \u0D35\u0D28\u0D4D\u0D28\u0D41")] // Malayalam "അവന്‍ വന്നു": a chillu before a space
    [InlineData("\u0D05\u0D35\u0D28\u0D4D\u200D")] // the chillu ending the text
    [InlineData("\u09B9\u09A0\u09BE\u09A4\u09CD\u200D \u098F\u09B2")] // Bengali "হঠাত্‍ এল": khanda-ta before a space
    [InlineData("\u0915\u094D\u200C \u0916")] // Devanagari: a non-joiner keeps the virama shown, before a space
    public void A_joiner_after_a_virama_is_fine_before_a_space_or_at_the_end(string text)
    {
        var result = Pool.Create(Guid.NewGuid(), Definition() with { Title = text, Outcomes = [text, "Other"] });

        Assert.True(result.IsSuccess, string.Join("; ", result.Error?.FieldErrors.SelectMany(e => e.Value) ?? []));
    }

    [Theory]
    [InlineData("Yes", "Y\u200Des")] // a joiner between letters draws nothing
    [InlineData("Yes", "Y\u200Ces")]
    [InlineData("Yes", "Ｙｅｓ")] // fullwidth
    [InlineData("Yes", "𝖸𝖾𝗌")] // mathematical sans-serif
    [InlineData("Yes🏆", "Yes\u200D🏆")] // a joiner after a letter builds no emoji
    [InlineData("\u30AC", "\uFF76\uFF9E")] // halfwidth katakana with its separate voiced mark
    public void Outcome_labels_that_look_the_same_are_one_label(string first, string lookalike)
    {
        var result = Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = [first, "Other", lookalike] });

        Assert.Equal(["outcomes[2]"], result.Error?.FieldErrors.Keys);
        Assert.Contains("looks the same", result.Error!.FieldErrors["outcomes[2]"].Single());
    }

    [Theory]
    [InlineData("👨\u200D👩\u200D👧", "👨👩👧")] // one family, three people
    [InlineData("🏳\uFE0F\u200D🌈", "🏳\uFE0F🌈")] // the rainbow flag, a white flag and a rainbow
    [InlineData("x²", "x2")] // a superscript is not a digit
    [InlineData("10²", "102")]
    [InlineData("\u2139\uFE0F", "i")] // the information emoji is not a letter
    [InlineData("\u203C\uFE0F", "!!")]
    [InlineData("™", "TM")]
    [InlineData("\u3131\u314F", "\uAC00")] // two Korean compatibility jamo, not the syllable they spell
    public void Labels_that_look_different_stay_two_labels(string first, string second)
    {
        var result = Pool.Create(Guid.NewGuid(), Definition() with { Outcomes = [first, second] });

        Assert.True(result.IsSuccess, string.Join("; ", result.Error?.FieldErrors.SelectMany(e => e.Value) ?? []));
    }
}
