using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace StreamBets.Admin.Components.Shared;

/// <summary>
/// A notice the page can move keyboard focus to once it shows: after an action whose buttons had the focus and are gone
/// with their row or form, so the keyboard lands on what became of it (the page's message or a form's problem).
/// </summary>
public abstract class FocusableNotice : ComponentBase
{
    private bool _focusPending;

    /// <summary>The notice's element (its <c>@ref</c>), with <c>tabindex="-1"</c>.</summary>
    protected ElementReference Element;

    /// <summary>Whether the notice shows now; nothing takes focus while it does not.</summary>
    protected abstract bool Shown { get; }

    public void TakeFocus()
    {
        _focusPending = true;
        StateHasChanged();
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (_focusPending && Shown)
        {
            _focusPending = false;
            try
            {
                await Element.FocusAsync();
            }
            catch (JSException)
            {
                // Replaced before the browser got there: focus stays put.
            }
        }
    }
}
