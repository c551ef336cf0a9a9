using System.Globalization;
using StreamBets.FrontEnd;

namespace StreamBets.Web.Tests;

public sealed class MoneyTests
{
    private static readonly CultureInfo Portuguese = new("pt-BR");
    private static readonly CultureInfo English = new("en");

    [Fact]
    public void Centavos_read_as_reais_in_each_language()
    {
        Assert.Equal("R$ 1.234,50", Money.Format(123_450, Portuguese).Replace('\u00A0', ' '));
        Assert.Equal("R$1,234.50", Money.Format(123_450, English));
        Assert.Equal("+R$ 10,00", Money.FormatSigned(1_000, Portuguese).Replace('\u00A0', ' '));
        Assert.Equal("-R$2.50", Money.FormatSigned(-250, English));
    }

    [Theory]
    [InlineData("25", 2_500)]
    [InlineData("25,5", 2_550)]
    [InlineData("25,50", 2_550)]
    [InlineData("25.50", 2_550)]
    [InlineData(" R$ 10 ", 1_000)]
    [InlineData("0,01", 1)]
    public void Typed_reais_become_centavos_whichever_decimal_mark_is_used(string text, long minor)
    {
        Assert.True(Money.TryParse(text, out var parsed));
        Assert.Equal(minor, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.000")]
    [InlineData("1.000,00")]
    [InlineData("2,555")]
    [InlineData("1e3")]
    public void Ambiguous_negative_or_malformed_amounts_are_refused(string text)
    {
        Assert.False(Money.TryParse(text, out _));
    }

    [Fact]
    public void Amounts_go_back_into_form_fields_without_symbol_or_grouping()
    {
        Assert.Equal("10", Money.ToInput(1_000, Portuguese));
        Assert.Equal("10,50", Money.ToInput(1_050, Portuguese));
        Assert.Equal("1234.50", Money.ToInput(123_450, English));
    }
}
