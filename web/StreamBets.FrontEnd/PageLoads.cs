namespace StreamBets.FrontEnd;

/// <summary>
/// Keeps a page's list the answer to its latest question. A page that starts a new list (another tab, another account,
/// a fresh history after a change or a push) while an earlier load still waits would otherwise let that slow answer land
/// on the new list: rows of two tabs, two players' wallet lines, or the same rows twice in one table.
/// </summary>
public sealed class PageLoads
{
    private int _current;

    /// <summary>Starts a new list: every load begun before it is outdated.</summary>
    public int StartOver() => ++_current;

    /// <summary>Adds to the current list (its next page): outdated by the next <see cref="StartOver"/>.</summary>
    public int Continue() => _current;

    /// <summary>True when a newer list was started after this load began: drop its answer.</summary>
    public bool IsOutdated(int load) => load != _current;
}
