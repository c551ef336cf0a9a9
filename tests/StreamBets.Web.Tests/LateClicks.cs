using System.Collections;
using System.Globalization;
using System.Reflection;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.RenderTree;
using Microsoft.AspNetCore.Components.Web;

namespace StreamBets.Web.Tests;

/// <summary>
/// A click or submit the browser sent before it received the render answering the one before. Blazor Server keeps an
/// element's handler until the browser confirms the render that replaced it, so such an event still runs the handler of
/// the render the browser had, after that answer; bUnit drops a handler as soon as a render replaces it. These keep it
/// as the server does, to be run once the first event is answered.
/// </summary>
internal static class LateClicks
{
    // The renderer's handler for each event handler id a rendered element carries (its blazor:onclick): no public API
    // reaches a handler a render has replaced.
    private static readonly FieldInfo Bindings = typeof(Renderer).GetField("_eventBindings", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new InvalidOperationException("The Blazor renderer no longer keeps its handlers in _eventBindings.");

    /// <summary>A click on what <paramref name="selector"/> finds now, sent later to the handler it has now.</summary>
    public static Func<Task> KeepClick<TPage>(this BunitContext bunit, IRenderedComponent<TPage> page, string selector) where TPage : IComponent =>
        Keep(bunit, page, selector, "onclick", new MouseEventArgs());

    /// <summary>A submit of the form <paramref name="selector"/> finds now, sent later to the handler it has now.</summary>
    public static Func<Task> KeepSubmit<TPage>(this BunitContext bunit, IRenderedComponent<TPage> page, string selector) where TPage : IComponent =>
        Keep(bunit, page, selector, "onsubmit", EventArgs.Empty);

    private static Func<Task> Keep<TPage>(BunitContext bunit, IRenderedComponent<TPage> page, string selector, string eventName, EventArgs args)
        where TPage : IComponent
    {
        var id = ulong.Parse(page.Find(selector).GetAttribute($"blazor:{eventName}")!, CultureInfo.InvariantCulture);
        var binding = ((IDictionary)Bindings.GetValue(bunit.Renderer)!)[id]!;
        // The handler alone, or with the id of the component that rendered it, as the framework's version keeps it.
        var handler = binding as EventCallback? ?? (EventCallback)binding.GetType().GetFields().Single(f => f.FieldType == typeof(EventCallback)).GetValue(binding)!;
        return () => page.InvokeAsync(() => handler.InvokeAsync(args));
    }
}
