-- Pools no stake may enter any more. A row appears when the Bet Engine learns that a pool was resolved or cancelled
-- (the pool event, or Pools itself during recovery), and at the latest when Settlement's snapshot of the pool's bets
-- begins (StreamPoolBets). From then on a batch's pending write refuses new bets of the pool (nothing moves), and a
-- finalize rejects the pool's still-pending bets and refunds their stakes. See docs/bets.md "Bets that arrive as a
-- pool finishes".
CREATE TABLE finished_pools (
    pool_id     uuid        PRIMARY KEY,
    reason      text        NOT NULL CHECK (reason IN ('resolved', 'cancelled', 'not-found', 'settlement-snapshot')),
    finished_at timestamptz NOT NULL
);
