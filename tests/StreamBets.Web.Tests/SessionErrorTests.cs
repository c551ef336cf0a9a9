using System.Globalization;
using Bunit;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Web.Components;

namespace StreamBets.Web.Tests;

/// <summary>A session that dies is never silent: the page carries the bar Blazor shows then, in the player's language.</summary>
public sealed class SessionErrorTests : IDisposable
{
    private readonly BunitContext _bunit = new();

    public SessionErrorTests()
    {
        _bunit.Services.AddLocalization(options => options.ResourcesPath = "Resources");
        _bunit.ComponentFactories.AddStub<Routes>();
        _bunit.ComponentFactories.AddStub<HeadOutlet>();
    }

    [Theory]
    [InlineData("en", "Something went wrong.", "Reload")]
    [InlineData("pt-BR", "Algo deu errado.", "Recarregar")]
    public void The_page_carries_Blazors_error_bar_with_a_reload_in_the_players_language(string culture, string says, string reload)
    {
        CultureInfo.CurrentUICulture = new CultureInfo(culture);

        var app = _bunit.Render<App>(parameters => parameters.AddCascadingValue(new DefaultHttpContext() as HttpContext));

        var bar = app.Find("#blazor-error-ui");
        Assert.Contains(says, bar.TextContent);
        Assert.Equal(reload, bar.QuerySelector("a.reload")!.TextContent);
        Assert.NotNull(bar.QuerySelector(".dismiss"));
    }

    public void Dispose() => _bunit.Dispose();
}
