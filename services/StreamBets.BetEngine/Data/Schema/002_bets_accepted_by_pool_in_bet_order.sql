-- Settlement streams a pool's accepted bets in bet_id order (StreamPoolBets): the same partial index as before, now
-- also ordered by bet id, so the read is an index scan with no sort of a million rows.
DROP INDEX IF EXISTS bets_accepted_by_pool;
CREATE INDEX bets_accepted_by_pool ON bets (pool_id, bet_id) WHERE status = 'accepted';
