-- A refund the ledger refused waits before it is tried again, and recovery takes the refunds due by the time their next
-- try is due: a refund the ledger keeps refusing no longer stays at the head of the list (ordered by decided_at, 5,000 a
-- round) and starves every refund behind it. Refusals are rare, and a refused transfer is not stored by the ledger, so
-- the next try of the same derived transfer id ("bet:{bet_id}:refund") can still apply, once.
-- Not indexed: the refunds due are read through bets_refund_due (a partial index holding only them, 005), and deferring
-- a refund stays a HOT update. Adding a column with a constant default rewrites no row.
ALTER TABLE bets ADD COLUMN refund_attempts integer NOT NULL DEFAULT 0,  -- tries the ledger refused
                 ADD COLUMN refund_retry_at timestamptz;                  -- no try before then (NULL: not refused yet)
