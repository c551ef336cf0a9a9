using Bunit;
using Microsoft.AspNetCore.Components;
using StreamBets.Testing;

namespace StreamBets.Web.Tests;

/// <summary>
/// Finds an element and raises its event in one go on the page's renderer. A page that renders again by itself (a hub
/// push, a timer, a read answered after its first render) may do so between a test's Find and its Click, and the
/// element found before that render may have lost its handler by the click. On the renderer's own thread no render
/// comes between the two (the pattern of StreamerPageTests' resolve test, which failed so once in CI). A test that does
/// more than one thing in one go calls the page's InvokeAsync itself.
/// </summary>
internal static class OnTheRenderer
{
    /// <summary>Clicks what <paramref name="selector"/> finds; the task ends when the click's handler is done.</summary>
    public static Task FindAndClickAsync<TPage>(this IRenderedComponent<TPage> page, string selector) where TPage : IComponent =>
        page.InvokeAsync(() => page.Find(selector).ClickAsync(new()));

    /// <summary>
    /// Types <paramref name="text"/> into the input <paramref name="selector"/> finds, as a browser does: its
    /// <c>maxlength</c> stops the typing at that many UTF-16 units (how HTML counts it: most emoji are two), and the
    /// input's input and change events are raised, whichever it listens to.
    /// </summary>
    public static Task FindAndTypeAsync<TPage>(this IRenderedComponent<TPage> page, string selector, string text) where TPage : IComponent =>
        page.InvokeAsync(() =>
        {
            var typed = BrowserTyping.Typed(text, page.Find(selector).GetAttribute("maxlength"));
            if (page.Find(selector).HasAttribute("blazor:oninput"))
            {
                page.Find(selector).Input(typed);
            }
            if (page.Find(selector).HasAttribute("blazor:onchange"))
            {
                page.Find(selector).Change(typed);
            }
        });

    /// <summary>Submits the form <paramref name="selector"/> finds; the task ends when the submit's handler is done.</summary>
    public static Task FindAndSubmitAsync<TPage>(this IRenderedComponent<TPage> page, string selector) where TPage : IComponent =>
        page.InvokeAsync(() => page.Find(selector).SubmitAsync());
}
