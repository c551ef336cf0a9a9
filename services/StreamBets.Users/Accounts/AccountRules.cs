using System.Globalization;
using System.Net.Mail;
using System.Text;

namespace StreamBets.Users.Accounts;

/// <summary>The rules an account's own fields obey, shared by registration, profile edits and the bootstrap admin.</summary>
public static class AccountRules
{
    public const int MinimumAge = 18;
    public const int MinimumPasswordLength = 10;
    public const int MaximumPasswordLength = 128;

    // A date of birth in the future is no adult's (and years near 9999 cannot have 18 added).
    public static bool IsAdult(DateOnly dateOfBirth, DateOnly today) => dateOfBirth <= today && ComesOfAgeOn(dateOfBirth) <= today;

    /// <summary>
    /// The 18th birthday. Someone born on 29 February comes of age on 1 March in a common year, not on 28 February
    /// (AddYears' choice): a period of years with no matching day ends on the next one (Brazilian Civil Code, art. 132 §3).
    /// </summary>
    private static DateOnly ComesOfAgeOn(DateOnly dateOfBirth)
    {
        var birthday = dateOfBirth.AddYears(MinimumAge);
        return birthday.Day == dateOfBirth.Day ? birthday : birthday.AddDays(1);
    }

    /// <summary>
    /// The date an age is judged on: the date in the last time zone to reach it (UTC−12). A player is of age once their
    /// birthday has begun everywhere, so nobody is let in while still a minor at home (by the UTC date, someone born on
    /// the day could bet from 21:00 the evening before in Brasília); it costs an adult at most a day's wait.
    /// </summary>
    public static DateOnly AgeDate(DateTimeOffset now) => DateOnly.FromDateTime(now.UtcDateTime.AddHours(-12));

    public const string QuotedEmailRule = "Enter the email address without quotation marks.";

    /// <summary>
    /// A valid address in the one spelling it is stored and looked up by, so lower(email) keeps a mailbox unique however it
    /// is typed: composed Unicode (NFC), the domain in Unicode. Unicode rather than punycode, so the rows stored as typed
    /// before this rule with a Unicode domain still match (<see cref="AccountStore.FindByEmailAsync"/> finds punycode ones).
    /// </summary>
    public static bool TryNormalizeEmail(string? input, out string email)
    {
        email = "";
        var typed = input?.Trim() ?? "";
        if (typed.Length is 0 or > 254 || typed.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }
        string composed;
        try
        {
            composed = typed.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return false; // a lone surrogate
        }
        if (!MailAddress.TryCreate(composed, out var address) || address.Address != composed
            || !address.Host.Contains('.', StringComparison.Ordinal) || address.Host.EndsWith('.'))
        {
            return false;
        }
        var domainNames = new IdnMapping();
        string domain;
        try
        {
            domain = domainNames.GetUnicode(address.Host);
            // GetUnicode lets through labels DNS cannot spell (over 63 octets in ASCII); WithAsciiDomain relies on it too.
            _ = domainNames.GetAscii(domain);
        }
        catch (ArgumentException)
        {
            return false; // not a domain name: bad punycode, a label starting with a hyphen or too long
        }
        email = $"{address.User}@{domain}";
        return email.Length <= 254;
    }

    /// <summary>
    /// Refused at registration: <c>"alice"@example.com</c> is alice@example.com's mailbox. Still signs in, for an account
    /// registered before the rule.
    /// </summary>
    public static bool HasQuotedLocalPart(string normalizedEmail) =>
        normalizedEmail.AsSpan(0, normalizedEmail.LastIndexOf('@')).Contains('"');

    /// <summary>A normalised address with its domain in punycode: how some accounts registered before the rule are stored.</summary>
    public static string WithAsciiDomain(string normalizedEmail)
    {
        var at = normalizedEmail.LastIndexOf('@');
        return string.Concat(normalizedEmail.AsSpan(0, at + 1), new IdnMapping().GetAscii(normalizedEmail[(at + 1)..]));
    }

    /// <summary>Length, not composition rules (NIST SP 800-63B), and never the email itself.</summary>
    public static string? PasswordProblem(string? password, string? email)
    {
        if (string.IsNullOrEmpty(password) || password.Length < MinimumPasswordLength)
        {
            return $"The password must have at least {MinimumPasswordLength} characters.";
        }
        if (password.Length > MaximumPasswordLength)
        {
            return $"The password must have at most {MaximumPasswordLength} characters.";
        }
        if (email is not null && string.Equals(password, email, StringComparison.OrdinalIgnoreCase))
        {
            return "The password must not be the email address.";
        }
        return null;
    }

    public const string DisplayNameRule = "The display name must have 2 to 32 characters, at least 2 of them visible, with no control or invisible characters.";

    public static bool TryNormalizeDisplayName(string? input, out string displayName)
    {
        displayName = input?.Trim() ?? "";
        // A trailing joiner would make "Ana" and "Ana\u200D" two names that look the same.
        return displayName.Length is >= 2 and <= 32 && !ShownText.HidesCharacters(displayName) && DrawnCharacters(displayName) >= 2;
    }

    /// <summary>
    /// A profile save's name: the rule judges a new name only. The stored name, sent back unchanged (after the same
    /// trimming), is kept as it is, so an account named before the rule tightened can still change its other settings
    /// (withdraw marketing consent) without being made to rename.
    /// </summary>
    public static bool TryNormalizeDisplayNameChange(string? input, string storedName, out string displayName)
    {
        if (input?.Trim() is { } unchanged && string.Equals(unchanged, storedName, StringComparison.Ordinal))
        {
            displayName = storedName;
            return true;
        }
        return TryNormalizeDisplayName(input, out displayName);
    }

    /// <summary>
    /// The characters a screen draws: not spaces, nor those Unicode says draw nothing (a variation selector, so "A\uFE0F"
    /// is one), nor the Hangul filler and the braille blank, which are letters and symbols drawn blank.
    /// </summary>
    private static int DrawnCharacters(string text) =>
        text.EnumerateRunes().Count(rune => !Rune.IsWhiteSpace(rune) && !ShownText.DrawsNothing(rune) && rune.Value != ShownText.BrailleBlank);

    public static bool TryParseDateOfBirth(string? input, out DateOnly dateOfBirth) =>
        DateOnly.TryParseExact(input, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out dateOfBirth)
        && dateOfBirth.Year >= 1900;

    /// <summary>Avatars are shown to other players, so only absolute https URLs.</summary>
    public static bool IsValidAvatarUrl(string url) =>
        url.Length <= 2048
        // Uri accepts control and format characters in a path, and the URL is stored as given (a NUL PostgreSQL refuses).
        && !url.EnumerateRunes().Any(r => Rune.IsWhiteSpace(r) || ShownText.IsHidden(r))
        && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps;
}
