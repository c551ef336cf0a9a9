-- When Settlement paid the pool out (PoolSettled, applied once through the inbox): null until then, and for pools that
-- never finished. Not a lifecycle transition: the pool stays resolved or cancelled; the handler bumps version so the
-- pool's views show the change.
ALTER TABLE pools ADD COLUMN settled_at timestamptz;

-- A channel's finished pools, most recently closed first (GET /api/pools/finished).
CREATE INDEX pools_finished_by_channel ON pools (channel_provider, channel_id, closed_at DESC, id DESC)
    WHERE state IN ('resolved', 'cancelled');
