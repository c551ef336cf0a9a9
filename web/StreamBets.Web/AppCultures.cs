using System.Globalization;

namespace StreamBets.Web;

/// <summary>The languages the app speaks: English (the default) and Brazilian Portuguese.</summary>
public static class AppCultures
{
    public static readonly CultureInfo[] Supported = [new("en"), new("pt-BR")];
}
