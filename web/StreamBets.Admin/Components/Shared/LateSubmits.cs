namespace StreamBets.Admin.Components.Shared;

/// <summary>
/// Tells a form's late submit from the operator's next one. Blazor Server still delivers a submit the browser sent
/// before it had the render answering the previous one, after that answer: when the answer emptied the form or filled it
/// again (a link made, a template saved, the defaults saved or re-read), that submit sends what the page put there, not
/// what the operator typed, and its refusal or repeat would replace the answer's message. Such a submit is ignored
/// until the operator changes a field (each field's <c>@bind:after</c>).
/// </summary>
public sealed class LateSubmits
{
    private bool _formReplaced;

    /// <summary>The page has emptied the form or filled it with its own values, in answer to a submit.</summary>
    public void FormReplaced() => _formReplaced = true;

    /// <summary>The operator changed a field (or opened something else in the form): the next submit is theirs.</summary>
    public void FormEdited() => _formReplaced = false;

    /// <summary>A submit now sends the form as the page left it: one the browser sent before it showed the answer.</summary>
    public bool IsLate => _formReplaced;
}
