using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using StreamBets.Testing;
using StreamBets.Web.Components;
using StreamBets.Web.Components.Layout;
using StreamBets.Web.Components.Pages.Account;
using StreamBets.Web.Gateway;
using StreamBets.Web.Live;

namespace StreamBets.Web.Tests;

/// <summary>
/// The change-password page: a change made says how many other devices were signed out and empties the form; nothing is
/// sent unless the new password was typed the same twice; each refusal reads plainly; a double click sends once.
/// </summary>
public sealed class ChangePasswordPageTests : PlayerPageTest
{
    private const string PasswordPath = "/api/users/me/password";
    private const string Current = "old correct horse";
    private const string New = "new battery staple";

    [Theory]
    [InlineData(0, "Password changed. You were not signed in on any other device.")]
    [InlineData(1, "Password changed. Signed out on 1 other device.")]
    [InlineData(3, "Password changed. Signed out on 3 other devices.")]
    public void A_changed_password_says_how_many_other_devices_were_signed_out_and_empties_the_form(int ended, string message)
    {
        Gateway.Answer(PasswordPath, new PasswordChange(ended));
        var page = Bunit.Render<ChangePassword>();

        Fill(page, Current, New, New);
        page.Find("form").Submit();

        page.WaitForAssertion(() => Assert.Equal(message, page.Find("[data-testid=password-changed]").TextContent.Trim()));
        var sent = Gateway.LastBody(PasswordPath)!.Value;
        Assert.Equal(Current, sent.GetProperty("currentPassword").GetString());
        Assert.Equal(New, sent.GetProperty("newPassword").GetString());
        Assert.All(page.FindAll("input[type=password]"), input => Assert.Equal("", input.GetAttribute("value") ?? ""));
    }

    [Fact]
    public void A_confirmation_that_differs_from_the_new_password_sends_nothing_and_says_so()
    {
        Gateway.Answer(PasswordPath, new PasswordChange(0));
        var page = Bunit.Render<ChangePassword>();

        Fill(page, Current, New, New + "!");
        page.Find("form").Submit();

        Assert.Equal("The new password and its confirmation do not match: type the same password in both.",
            page.Find("[data-testid=password-mismatch]").TextContent.Trim());
        Assert.Empty(Gateway.Changes);
        Assert.Empty(page.FindAll("[data-testid=password-changed]"));
    }

    [Fact]
    public void A_refused_new_password_shows_its_error_beside_that_field()
    {
        Gateway.Refuse(PasswordPath, 400, "invalid-request", new Dictionary<string, string[]>
        {
            ["newPassword"] = ["The new password must differ from the current one."],
        });
        var page = Bunit.Render<ChangePassword>();

        Fill(page, Current, Current, Current);
        page.Find("form").Submit();

        page.WaitForAssertion(() => Assert.NotNull(page.Find("#new-password").ParentElement!.QuerySelector(".field-error")));
        Assert.Equal("The new password must have 10 to 128 characters and be different from your current one.",
            page.Find("#new-password").ParentElement!.QuerySelector(".field-error")!.TextContent);
        Assert.Null(page.Find("#current-password").ParentElement!.QuerySelector(".field-error"));
        Assert.Equal("true", page.Find("#new-password").GetAttribute("aria-invalid"));
        Assert.Equal("Please check the highlighted fields.", page.Find("[data-testid=problem]").TextContent.Trim());
    }

    [Fact]
    public void A_refused_current_password_field_shows_its_error_beside_that_field()
    {
        Gateway.Refuse(PasswordPath, 400, "invalid-request", new Dictionary<string, string[]> { ["currentPassword"] = ["Required."] });
        var page = Bunit.Render<ChangePassword>();

        Fill(page, Current, New, New);
        page.Find("form").Submit();

        page.WaitForAssertion(() => Assert.Equal("Enter your current password.",
            page.Find("#current-password").ParentElement!.QuerySelector(".field-error")?.TextContent));
        Assert.Null(page.Find("#new-password").ParentElement!.QuerySelector(".field-error"));
    }

    [Theory]
    [InlineData(403, "wrong-password", "Your current password is not right. Too many wrong tries lock your account for a while.")]
    [InlineData(423, "account-locked", "Your account is locked for a while after failed sign-ins. Try again later.")]
    public void A_wrong_or_locked_out_current_password_reads_plainly(int status, string code, string message)
    {
        Gateway.Refuse(PasswordPath, status, code);
        var page = Bunit.Render<ChangePassword>();

        Fill(page, Current, New, New);
        page.Find("form").Submit();

        page.WaitForAssertion(() => Assert.Equal(code, page.Find("[data-testid=problem]").GetAttribute("data-code")));
        Assert.Equal(message, page.Find("[data-testid=problem]").TextContent.Trim());
        Assert.Empty(page.FindAll("[data-testid=password-changed]"));
    }

    [Fact]
    public async Task A_double_click_changes_the_password_once()
    {
        Gateway.Answer(PasswordPath, new PasswordChange(2));
        var page = Bunit.Render<ChangePassword>();
        Fill(page, Current, New, New);
        var release = Gateway.Hold(PasswordPath);

        // The second click arrives while the first one's POST is held at the gateway.
        var first = page.Find("form").SubmitAsync();
        Assert.True(await SoonAsync(() => Gateway.Changes.Count == 1), "The first click sent nothing.");
        var second = page.Find("form").SubmitAsync();
        release();
        await Task.WhenAll(first, second);

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=password-changed]")));
        Assert.Equal([$"POST {PasswordPath}"], Gateway.Changes);
    }

    [Fact]
    public void A_visitor_who_is_not_signed_in_is_sent_to_sign_in_and_back_to_the_page()
    {
        Bunit.AddAuthorization(); // nobody signed in
        AddLayout();
        var navigation = Bunit.Services.GetRequiredService<NavigationManager>();
        navigation.NavigateTo("/account/password");

        Bunit.Render<Routes>();

        Assert.Equal("http://localhost/signin?returnUrl=%2Faccount%2Fpassword", navigation.Uri);
        Assert.DoesNotContain(PasswordPath, Gateway.Requests);
    }

    [Fact]
    public void The_menu_of_a_signed_in_player_links_to_the_page()
    {
        Bunit.AddAuthorization().SetAuthorized("Ana");
        AddLayout();

        var layout = Bunit.Render<MainLayout>();

        Assert.Equal("Password", layout.Find("nav.main-nav a[href='/account/password']").TextContent.Trim());
    }

    /// <summary>What the site's layout stands on, on an interactive page.</summary>
    private void AddLayout()
    {
        Bunit.JSInterop.Mode = JSRuntimeMode.Loose;
        Bunit.Services.AddSingleton(new WalletState(Client, Live, PageTime));
        Bunit.Services.AddSingleton(new Toasts());
        Bunit.Renderer.SetRendererInfo(new RendererInfo("Server", isInteractive: true));
    }

    private static void Fill(IRenderedComponent<ChangePassword> page, string current, string @new, string confirm)
    {
        page.Find("#current-password").Change(current);
        page.Find("#new-password").Change(@new);
        page.Find("#confirm-password").Change(confirm);
    }
}
