-- A channel's board is built on its first read (and whenever Redis lost it) under the leaderboards lock, which every
-- settled bet's handler waits on: without these its all-time build scanned every channel's totals and its day and
-- week builds read every channel's rows of those days. Keyed by channel (and day) alone, not by player too: a new row
-- then goes at the end of its channel's (and day's) range instead of a random page, and the handlers' upserts, which
-- change only net_minor, can stay heap-only (HOT) updates that touch no index.
CREATE INDEX leaderboard_totals_by_channel ON leaderboard_totals (channel);
CREATE INDEX leaderboard_entries_by_channel ON leaderboard_entries (channel, day);
