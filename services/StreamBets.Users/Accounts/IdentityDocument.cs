namespace StreamBets.Users.Accounts;

/// <summary>
/// The identity document behind KYC tier 1: a CPF in Brazil, elsewhere a passport, national id card
/// or driving licence number. Numbers are stored without spaces or hyphens, upper case.
/// </summary>
public sealed record IdentityDocument(string Type, string Number)
{
    public const string CpfType = "cpf";
    public static readonly IReadOnlyList<string> InternationalTypes = ["passport", "national-id", "driving-licence"];

    public static bool TryCreate(string country, string? type, string? number, out IdentityDocument document, out string error)
    {
        document = null!;
        if (country == Countries.Brazil)
        {
            if (type is not null && type != CpfType)
            {
                error = "Players in Brazil identify themselves with their CPF.";
                return false;
            }
            if (!Cpf.TryNormalize(number, out var digits))
            {
                error = "The CPF must have 11 digits and valid check digits.";
                return false;
            }
            document = new IdentityDocument(CpfType, digits);
            error = "";
            return true;
        }

        if (type is null || !InternationalTypes.Contains(type))
        {
            error = $"The document type must be one of: {string.Join(", ", InternationalTypes)}.";
            return false;
        }
        var normalized = new string((number ?? "").Where(c => c is not (' ' or '-')).ToArray()).ToUpperInvariant();
        if (normalized.Length is < 5 or > 20 || !normalized.All(char.IsAsciiLetterOrDigit))
        {
            error = "The document number must have 5 to 20 letters or digits.";
            return false;
        }
        document = new IdentityDocument(type, normalized);
        error = "";
        return true;
    }
}
