namespace StreamBets.Web.Live;

/// <summary>
/// Reads of one thing on a page that can pass each other (a push's, a reload's, a poll's): a read's answer is shown
/// only if no read started after it has been shown already. Used on the page's render thread only.
/// </summary>
public sealed class ReadOrder
{
    private long _started;
    private long _shown;

    /// <summary>Numbers a read as it is sent.</summary>
    public long Start() => ++_started;

    /// <summary>Whether the answer of <paramref name="read"/> is the newest yet; if so it counts as shown.</summary>
    public bool Show(long read)
    {
        if (read <= _shown)
        {
            return false;
        }
        _shown = read;
        return true;
    }

    /// <summary>Every read sent so far is old: the page shows something else now.</summary>
    public void Forget() => _shown = _started;
}
