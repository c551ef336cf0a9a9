using System.Globalization;
using System.Text;
using StreamBets.Contracts;

namespace StreamBets.Pools.Lifecycle;

/// <summary>
/// What a streamer asks for when creating a pool; <see cref="Pool.Create"/> checks it against the rules below. The rake
/// and <see cref="AutoCancelAfter"/> come from the operators' configuration (<see cref="Pool.AbandonedAfter"/> when none is given).
/// </summary>
public sealed record PoolDefinition(
    string Title,
    IReadOnlyList<string> Outcomes,
    TimeSpan BettingWindow,
    Money MinStake,
    Money MaxStake,
    int RakeBasisPoints,
    TimeSpan? AutoCancelAfter = null)
{
    public const int MaxTitleLength = 45;
    public const int MinOutcomes = 2;
    public const int MaxOutcomes = 10;
    public const int MaxOutcomeLabelLength = 25;
    public const int MaxRakeBasisPoints = 5_000;
    public static readonly TimeSpan MinBettingWindow = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxBettingWindow = TimeSpan.FromSeconds(1800);
    public static readonly TimeSpan MinAutoCancelAfter = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxAutoCancelAfter = TimeSpan.FromHours(24 * 7);

    /// <summary>Every broken rule at once, keyed by the camelCase field name an endpoint received.</summary>
    internal Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (TextProblem(Title, MaxTitleLength) is { } title)
        {
            errors["title"] = [$"The title {title}."];
        }

        var outcomes = Outcomes ?? [];
        if (outcomes.Count is < MinOutcomes or > MaxOutcomes)
        {
            errors["outcomes"] = [$"A pool has {MinOutcomes} to {MaxOutcomes} outcomes, not {outcomes.Count}."];
        }

        // Compared as they look, not as they are spelled: with real money on them, two outcomes that look the same let
        // the streamer resolve the one fewer people backed.
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (TextProblem(outcomes[i], MaxOutcomeLabelLength) is { } label)
            {
                errors[$"outcomes[{i}]"] = [$"The outcome label {label}."];
            }
            else if (!seen.Add(LookalikeKey(outcomes[i])))
            {
                errors[$"outcomes[{i}]"] = [$"The outcome label \"{StoredForm(outcomes[i])}\" is already used in this pool, or looks the same as one that is."];
            }
        }

        if (BettingWindow < MinBettingWindow || BettingWindow > MaxBettingWindow)
        {
            errors["bettingWindow"] = [$"The betting window lasts {MinBettingWindow.TotalSeconds} to {MaxBettingWindow.TotalSeconds} seconds."];
        }

        if (MinStake.MinorUnits < 1)
        {
            errors["minStake"] = ["The minimum stake is at least one minor unit."];
        }

        if (MaxStake < MinStake)
        {
            errors["maxStake"] = ["The maximum stake is at least the minimum stake."];
        }

        if (RakeBasisPoints is < 0 or > MaxRakeBasisPoints)
        {
            errors["rakeBasisPoints"] = [$"The rake is 0 to {MaxRakeBasisPoints} basis points."];
        }

        if (AutoCancelAfter is { } autoCancelAfter && (autoCancelAfter < MinAutoCancelAfter || autoCancelAfter > MaxAutoCancelAfter))
        {
            errors["autoCancelAfter"] = [$"A locked pool waits {MinAutoCancelAfter.TotalHours} to {MaxAutoCancelAfter.TotalHours} hours for its result."];
        }

        return errors;
    }

    /// <summary>
    /// A title or label as the pool keeps it: trimmed and in Unicode's composed form (NFC), so "Café" typed with a combining
    /// accent is stored, counted and shown as the same text as "Café" typed with "é".
    /// </summary>
    internal static string StoredForm(string text) => text.Trim().Normalize(NormalizationForm.FormC);

    /// <summary>
    /// Lengths count Unicode code points of the stored form (<see cref="StoredForm"/>, <see cref="ShownText.ComposedLength"/>),
    /// as PostgreSQL's varchar(n) does: a flag is two, a family emoji up to seven; the player site's form counts alike. Control, line-breaking and invisible characters are refused: a title is one
    /// line, PostgreSQL cannot store a NUL at all, and two outcomes must not look alike ("Yes" and "Yes" with a zero-width
    /// space). Text that shows nothing once the characters that draw nothing are left out is blank.
    /// </summary>
    private static string? TextProblem(string? text, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "must not be blank";
        }

        if (!IsWellFormed(text))
        {
            return "must be valid Unicode text";
        }

        // Judged as it is stored: trimmed, "Yes\u200D " keeps a joiner with nothing after it.
        if (ShownText.HidesCharacters(StoredForm(text)))
        {
            return "must not contain line breaks, tabs, or invisible characters such as zero-width spaces or direction marks";
        }

        if (LookalikeKey(text).Length == 0)
        {
            return "must not be blank";
        }

        var length = ShownText.ComposedLength(text);
        return length > maxLength ? $"has {length} characters; the limit is {maxLength}" : null;
    }

    /// <summary>
    /// What <paramref name="text"/> looks like, for telling lookalikes apart (compare case-insensitively): composed (NFC),
    /// with fullwidth, halfwidth and mathematical letters in their plain form (fullwidth "Ｙｅｓ" and mathematical "𝖸𝖾𝗌"
    /// are "Yes"; <see cref="FoldsToPlain"/>), without the code points Unicode says draw nothing, nor joiners that build no
    /// emoji (between letters they change little or nothing), with blank-looking characters as spaces and each run of
    /// spaces as one (a web page shows "Yes  No" as "Yes No"). So "Yes" and "Yes\uFE0F" or "Y\u200Des", "❤" and "❤️",
    /// "Café" and "Cafe\u0301" match, a family emoji and its three people do not, nor "x²" and "x2", and "\u3164" or
    /// "\u2800" alone is blank.
    /// </summary>
    internal static string LookalikeKey(string text)
    {
        var runes = FoldedToPlain(text).EnumerateRunes().ToArray();
        var key = new StringBuilder(text.Length);
        var spaced = false;
        for (var i = 0; i < runes.Length; i++)
        {
            var rune = runes[i];
            if (ShownText.DrawsNothing(rune) || (rune.Value is 0x200C or 0x200D && !JoinsEmoji(runes, i)))
            {
                continue;
            }

            if (Rune.IsWhiteSpace(rune) || rune.Value == ShownText.BrailleBlank)
            {
                spaced = key.Length > 0;
                continue;
            }

            if (spaced)
            {
                key.Append(' ');
                spaced = false;
            }
            key.Append(rune.ToString());
        }

        // Composed after the ignorables are gone: a grapheme joiner between "e" and U+0301 otherwise keeps them apart.
        return key.ToString().Normalize(NormalizationForm.FormC);
    }

    /// <summary>
    /// <paramref name="text"/> with each <see cref="FoldsToPlain"/> character in its compatibility form (NFKC) and the rest
    /// as typed: NFKC on the whole text would also make "x²" "x2", "™" "TM", "ℹ️" "i" and "ㄱㅏ" "가", which look different.
    /// </summary>
    private static string FoldedToPlain(string text)
    {
        var folded = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            folded.Append(FoldsToPlain(rune) ? rune.ToString().Normalize(NormalizationForm.FormKC) : rune.ToString());
        }
        return folded.ToString();
    }

    /// <summary>
    /// Halfwidth and Fullwidth Forms (U+FF00-U+FFEF) and Mathematical Alphanumeric Symbols (U+1D400-U+1D7FF): other fonts'
    /// spellings of ordinary letters, digits and signs, which a player reads as those.
    /// </summary>
    private static bool FoldsToPlain(Rune rune) => rune.Value is (>= 0xFF00 and <= 0xFFEF) or (>= 0x1D400 and <= 0x1D7FF);

    /// <summary>
    /// A zero-width joiner between two emoji symbols (the first may carry an emoji selector or a skin tone), which draws them as
    /// one: "👨\u200D👩\u200D👧" is a family, "👨👩👧" three people.
    /// </summary>
    private static bool JoinsEmoji(Rune[] runes, int i)
    {
        var before = i - 1;
        while (before >= 0 && ShownText.DrawsNothing(runes[before]))
        {
            before--;
        }
        return runes[i].Value == 0x200D && before >= 0 && i + 1 < runes.Length
            && Rune.GetUnicodeCategory(runes[before]) is UnicodeCategory.OtherSymbol or UnicodeCategory.ModifierSymbol
            && Rune.GetUnicodeCategory(runes[i + 1]) == UnicodeCategory.OtherSymbol;
    }

    /// <summary>No unpaired surrogate: such text cannot be normalised, stored in PostgreSQL or shown.</summary>
    private static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }
        return true;
    }
}
