-- A player's daily rows keyed by player first. Keyed by (channel, day, user_id) with a second index on (user_id, day),
-- every settled bet inserted into two indexes at random places and compared channel text at each step: upserting
-- 1,000 new players took 77-129 ms against 37-46 ms now, and a 1,000,000-bet pool's leaderboards caught up about a
-- minute after its money had moved. The key serves the upsert and the per-player sums; the day index serves rebuilds.
ALTER TABLE leaderboard_entries DROP CONSTRAINT leaderboard_entries_pkey, ADD PRIMARY KEY (user_id, day, channel);
DROP INDEX leaderboard_entries_by_user;
