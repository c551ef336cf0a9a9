namespace StreamBets.Users.Accounts;

/// <summary>
/// Brazil's individual taxpayer number: eleven digits whose last two are mod-11 check digits over
/// the digits before them. Accepts the usual punctuation (529.982.247-25) and answers digits only.
/// </summary>
public static class Cpf
{
    public static bool TryNormalize(string? input, out string digits)
    {
        digits = "";
        if (input is null)
        {
            return false;
        }

        Span<char> buffer = stackalloc char[11];
        var count = 0;
        foreach (var c in input.AsSpan().Trim())
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == buffer.Length)
                {
                    return false;
                }
                buffer[count++] = c;
            }
            else if (c is not ('.' or '-'))
            {
                return false;
            }
        }

        // Repeated digits (000.000.000-00, 111.111.111-11...) satisfy the arithmetic but are never issued.
        if (count != buffer.Length || !buffer.ContainsAnyExcept(buffer[0]))
        {
            return false;
        }
        if (CheckDigit(buffer[..9]) != buffer[9] - '0' || CheckDigit(buffer[..10]) != buffer[10] - '0')
        {
            return false;
        }

        digits = new string(buffer);
        return true;
    }

    /// <summary>Appends the two check digits to nine base digits (sandbox and test data).</summary>
    public static string WithCheckDigits(string nineDigits)
    {
        if (nineDigits.Length != 9 || !nineDigits.All(char.IsAsciiDigit))
        {
            throw new ArgumentException("A CPF base has nine digits.", nameof(nineDigits));
        }
        var first = nineDigits + (char)('0' + CheckDigit(nineDigits));
        return first + (char)('0' + CheckDigit(first));
    }

    /// <summary>Weights run from n+1 down to 2 over the n digits; a remainder of 10 becomes 0.</summary>
    private static int CheckDigit(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            sum += (digits[i] - '0') * (digits.Length + 1 - i);
        }
        var digit = sum * 10 % 11;
        return digit == 10 ? 0 : digit;
    }
}
