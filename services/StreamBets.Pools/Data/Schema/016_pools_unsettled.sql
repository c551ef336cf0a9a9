-- Finished pools Settlement has not paid out yet (no PoolSettled applied), oldest close first: what Settlement's
-- reconciler asks for every few minutes (ListUnsettledPools). A pool leaves the index once settled, so it stays as
-- small as the pools waiting for their payout, however many pools have ever finished.
CREATE INDEX pools_unsettled_by_closed_at ON pools (closed_at, id)
    WHERE state IN ('resolved', 'cancelled') AND settled_at IS NULL;
