-- A create request's optional Idempotency-Key stays on the pool it opened, with a hash of what the request asked for:
-- a retry (same creator, same key) answers that pool again, and the same key with another request is refused. Kept on
-- the pool row rather than in a table of its own because the unique index then holds in the transaction that inserts
-- the pool (two copies of a request at once open one pool), and a key lives as long as its pool, well past the 24 h a
-- client may retry for, with no sweeper. Keys are the creator's own: another user's identical key is another request.
-- Both columns are null for pools opened without a key, as for every pool stored before this script (no rewrite).
ALTER TABLE pools ADD COLUMN idempotency_key text;
ALTER TABLE pools ADD COLUMN request_hash bytea;

CREATE UNIQUE INDEX pools_by_idempotency_key ON pools (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
