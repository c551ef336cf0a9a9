namespace StreamBets.Web.Live;

/// <summary>
/// Per hub stream ("pool:{id}", "channel:{c}", "user"), which numbered messages this circuit has applied: the highest,
/// and the numbers skipped below it. A message skipped that arrives late is new (a redelivered event comes again under
/// its first number, and replicas interleave); any other at or below the highest is a duplicate, or a number handed
/// out again after the stream's counter went back (Redis lost its latest writes), which only the hub can tell. A stream
/// starts at the first message heard, since what came before it is in the page's own read; but one numbered just before
/// it may still be on its way (another replica's push, a redelivery), so each number below the first is taken once too.
/// </summary>
internal sealed class StreamSequences
{
    // The hub keeps the last 200 messages of a stream: a wider gap cannot be caught up, only reloaded.
    private const int MaxMissing = 200;

    private readonly Dictionary<string, Stream> _streams = new(StringComparer.Ordinal);

    /// <summary>Whether to apply the message; <paramref name="gapOpened"/> when it skips ahead of the highest.</summary>
    public bool Accept(string stream, long sequence, out bool gapOpened)
    {
        gapOpened = false;
        if (!_streams.TryGetValue(stream, out var known))
        {
            _streams[stream] = new Stream(sequence);
            return true;
        }
        if (sequence < known.First)
        {
            // Not caught up for (the page's read may hold it), but not dropped either when it comes by itself.
            return known.First - sequence <= MaxMissing && known.HeardBeforeFirst.Add(sequence);
        }
        if (sequence <= known.Highest)
        {
            return known.Missing.Remove(sequence);
        }
        for (var skipped = known.Highest + 1; skipped < sequence && known.Missing.Count < MaxMissing; skipped++)
        {
            known.Missing.Add(skipped);
        }
        gapOpened = sequence > known.Highest + 1;
        known.Highest = sequence;
        return true;
    }

    public bool HasGap(string stream) => _streams.TryGetValue(stream, out var known) && known.Missing.Count > 0;

    /// <summary>What to ask CatchUp for: all after the last number before the first skipped one, or after the highest.</summary>
    public long? CatchUpAfter(string stream) =>
        _streams.TryGetValue(stream, out var known) ? (known.Missing.Count > 0 ? known.Missing.Min - 1 : known.Highest) : null;

    public IReadOnlyList<string> Streams => [.. _streams.Keys];

    /// <summary>Starts the stream over at its next message (no longer watched, or too far behind to catch up).</summary>
    public void Forget(string stream) => _streams.Remove(stream);

    private sealed class Stream(long first)
    {
        public long First { get; } = first;

        public long Highest { get; set; } = first;

        /// <summary>Numbers below the first that came late and were applied.</summary>
        public HashSet<long> HeardBeforeFirst { get; } = [];

        public SortedSet<long> Missing { get; } = [];
    }
}
