-- Bets, written 'pending' (with the ledger transfer id of their stake) BEFORE the stake moves in the ledger, then
-- decided 'accepted' or 'rejected' in one transaction per batch. See docs/bets.md.
CREATE TABLE bets (
    bet_id             uuid        PRIMARY KEY,
    user_id            uuid        NOT NULL,
    idempotency_key    text        NOT NULL,
    pool_id            uuid        NOT NULL,
    outcome_id         uuid        NOT NULL,
    stake_minor        bigint      NOT NULL CHECK (stake_minor > 0),
    stake_transfer_id  uuid        NOT NULL,  -- WalletTransferIds.FromName("bet:{bet_id}:stake")
    status             text        NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    rejection_code     text,                  -- the problem code, e.g. 'insufficient-funds'
    rejection_detail   text,
    -- 'due' when the stake moved but the bet was rejected (e.g. a second-outcome race): the stake goes back
    -- with transfer id FromName("bet:{bet_id}:refund"), then 'done'.
    refund_status      text        CHECK (refund_status IN ('due', 'done')),
    placed_at          timestamptz NOT NULL,  -- when the request arrived: the lock time is judged against it
    decided_at         timestamptz,
    settled_result     text,                  -- from BetSettled: 'won', 'lost' or 'refunded'
    payout_minor       bigint,
    settled_at         timestamptz,
    CONSTRAINT bets_one_result_per_key UNIQUE (user_id, idempotency_key),
    CONSTRAINT bets_rejection_has_code CHECK ((status = 'rejected') = (rejection_code IS NOT NULL))
);

-- What the recovery loop re-drives.
CREATE INDEX bets_pending ON bets (placed_at) WHERE status = 'pending';
CREATE INDEX bets_refund_due ON bets (decided_at) WHERE refund_status = 'due';
-- "My bets", newest first.
CREATE INDEX bets_by_user ON bets (user_id, placed_at DESC, bet_id DESC);
-- A pool's accepted bets, for settlement and the totals rebuild.
CREATE INDEX bets_accepted_by_pool ON bets (pool_id) WHERE status = 'accepted';

-- The one-outcome rule: a user backs at most one outcome of a pool (they may add to it). The primary key is what
-- makes the rule hold across batches and replicas, not the in-memory pre-check.
CREATE TABLE pool_user_outcomes (
    pool_id    uuid NOT NULL,
    user_id    uuid NOT NULL,
    outcome_id uuid NOT NULL,
    PRIMARY KEY (pool_id, user_id)
);

-- Accepted stakes per outcome, updated once per batch in the batch's transaction: the exact figures OddsChanged
-- carries (Redis holds the same totals for fast reads).
CREATE TABLE pool_outcome_totals (
    pool_id      uuid   NOT NULL,
    outcome_id   uuid   NOT NULL,
    staked_minor bigint NOT NULL,
    bet_count    bigint NOT NULL,
    PRIMARY KEY (pool_id, outcome_id)
);
