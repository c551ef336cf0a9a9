-- All-time net winnings per player over every channel: the global all-time board's source. Summed from
-- leaderboard_totals (a row per player and channel ever, never deleted), that board's build scanned, grouped and sorted
-- the whole table under the leaderboards lock every settled bet waits on; here it reads the top of an index.
-- Kept by the settled-bets handler in the transaction that upserts leaderboard_totals.
CREATE TABLE leaderboard_player_totals (
    user_id    uuid   PRIMARY KEY,
    net_minor  bigint NOT NULL
);

-- Backfilled in one statement, not in batches: SHARE mode waits for settlements in flight and holds new ones until
-- this script commits, so no settled bet is missed or counted twice. It reads leaderboard_totals once, as one global
-- all-time build did. The index is built after the rows, faster than kept up row by row.
LOCK TABLE leaderboard_totals IN SHARE MODE;
INSERT INTO leaderboard_player_totals (user_id, net_minor)
SELECT user_id, sum(net_minor) FROM leaderboard_totals GROUP BY user_id;

CREATE INDEX leaderboard_player_totals_by_net ON leaderboard_player_totals (net_minor DESC, user_id);
