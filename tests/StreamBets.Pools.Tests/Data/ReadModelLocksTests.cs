using StreamBets.Pools.Data;

namespace StreamBets.Pools.Tests.Data;

public class ReadModelLocksTests
{
    [Fact]
    public void Any_number_of_players_needs_at_most_a_fixed_number_of_score_locks()
    {
        // 20 settled-bet events of 1,000 players handled in one transaction once held 20,000 advisory locks and
        // exhausted PostgreSQL's shared lock table (64 per connection by default).
        var keys = Enumerable.Range(0, 20_000).Select(_ => ReadModelLocks.PlayerScores(Guid.NewGuid())).ToArray();

        Assert.All(keys, key => Assert.InRange(key.Key, 0, ReadModelLocks.PlayerScoreBuckets - 1));
        Assert.Equal(ReadModelLocks.PlayerScoreBuckets, keys.Select(k => k.Key).Distinct().Count());
        var player = Guid.NewGuid();
        Assert.Equal(ReadModelLocks.PlayerScores(player), ReadModelLocks.PlayerScores(new Guid(player.ToString())));
    }
}
