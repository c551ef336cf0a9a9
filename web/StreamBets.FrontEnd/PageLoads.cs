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

    /// <summary>
    /// For the answer to an action on the current list (a cancel, a requeue, a page added): false when a newer list was
    /// started meanwhile (drop it). Otherwise true, and every load still on its way is outdated: a timed read begun
    /// before this answer holds the rows as they were, and would undo what the action did.
    /// </summary>
    public bool Prevails(int load)
    {
        if (IsOutdated(load))
        {
            return false;
        }
        _current++;
        return true;
    }
}
