namespace StreamBets.FrontEnd;

/// <summary>
/// Serves a page's clicks one at a time. Disabled buttons are not enough: a second click the browser sent before that
/// render reached it still arrives, and would load the same page of rows twice, or send a change again and show its
/// 409 in place of the first one's success. The buttons show <see cref="Busy"/> as disabled.
/// </summary>
public sealed class OneClickAtATime
{
    public bool Busy { get; private set; }

    /// <summary>Serves <paramref name="click"/>, or ignores it while another click is being served.</summary>
    public async Task RunAsync(Func<Task> click)
    {
        if (Busy)
        {
            return;
        }
        Busy = true;
        try
        {
            await click();
        }
        finally
        {
            Busy = false; // after a throw too, or the page's buttons would stay disabled for good
        }
    }
}
