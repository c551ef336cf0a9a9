using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.FrontEnd;
using StreamBets.FrontEnd.Auth;
using StreamBets.Web.Components.Layout;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>A player whose session ended is sent to sign in, and from there back to the page they were on.</summary>
public sealed class ExpiredSessionTests : PlayerPageTest
{
    [Fact]
    public async Task A_session_that_ends_on_a_pool_page_sends_the_player_to_sign_in_and_back_to_that_pool()
    {
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.AddAuthorization().SetAuthorized("Ana");
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        Bunit.Services.AddSingleton(new Toasts());
        Bunit.Renderer.SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        var navigation = Bunit.Services.GetRequiredService<NavigationManager>();
        var pool = $"/pools/{Guid.NewGuid()}?from=home";
        navigation.NavigateTo(pool);
        Bunit.Render<MainLayout>();

        // Users refuses the refresh: the session is over.
        Gateway.Refuse("/api/users/token/refresh", 401, "signed-out");
        Assert.Null(await Session.TokenRefusedAsync("access-1"));

        Assert.True(await SoonAsync(() => navigation.Uri.Contains("signin", StringComparison.Ordinal)));
        var query = QueryHelpers.ParseQuery(new Uri(navigation.Uri).Query);
        Assert.Equal("true", query["expired"]);
        Assert.Equal(pool, SessionSignIn.SafeReturnUrl(query["returnUrl"]));
    }
}
