-- The index on net (script 014) made every settled bet's player-total update also move the player in it, and kept
-- those updates from being HOT: measured on 1,000,000 settled bets, poolsdb spent 18 CPU-s more, settlement took 10 %
-- longer and the leaderboards caught up 24 s later. The global all-time build reads this one-row-per-player table with
-- a top-N sort instead (no grouping over every player's channels), which a rare rebuild can afford.
DROP INDEX IF EXISTS leaderboard_player_totals_by_net;
ALTER TABLE leaderboard_player_totals SET (fillfactor = 80);
