namespace StreamBets.Web.Betting;

/// <summary>
/// The length limits Pools puts on a pool's question and outcome labels, counted as Pools counts them
/// (<see cref="ShownText.ComposedLength"/>: code points of the trimmed, composed text). A browser's <c>maxlength</c>
/// counts UTF-16 units instead, where most emoji are two: it cut a question of 30 emoji, which Pools takes, at 22. The
/// form counts here and says so by the field; Pools still checks, and its refusal is shown as sent.
/// </summary>
public static class PoolTextLength
{
    public const int MaxTitle = 45;
    public const int MaxOutcomeLabel = 25;

    /// <summary>How many characters Pools counts in <paramref name="text"/>.</summary>
    public static int Of(string text) => ShownText.ComposedLength(text);
}
