-- One row per finished pool: recorded 'due' by the PoolResolved/PoolCancelled handler (in its inbox transaction), then
-- run by a SettlementWorker: 'running' (also while it waits to retry after a transient failure), and finally
-- 'settled' or 'failed'. See docs/settlement.md.
CREATE TABLE settlements (
    pool_id               uuid        PRIMARY KEY,
    kind                  text        NOT NULL CHECK (kind IN ('resolved', 'cancelled')),
    status                text        NOT NULL CHECK (status IN ('due', 'running', 'settled', 'failed')),
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    next_attempt_at       timestamptz NOT NULL,
    attempts              integer     NOT NULL DEFAULT 0,  -- runs started
    last_error            text,
    started_at            timestamptz,
    finished_at           timestamptz,
    trace_parent          text,                            -- the W3C context of the event that made it due
    -- The accepted bets as the first run saw them (per outcome "id:stake:count", sorted): a rerun must see the same.
    declared_totals       text,
    bet_count             bigint,
    total_minor           bigint,
    settled_bets          bigint      NOT NULL DEFAULT 0,  -- progress: rows in settled_bets
    -- Pools' summary, once settled: paid + rake + breakage = total.
    basis                 text,
    paid_minor            bigint,
    rake_minor            bigint,
    breakage_minor        bigint,
    winning_bets          bigint,
    refunded_bets         bigint,
    escrow_residue_minor  bigint                           -- the escrow's balance after settling; 0 unless something is off
);

CREATE INDEX settlements_runnable ON settlements (next_attempt_at) WHERE status IN ('due', 'running');

-- Every bet whose payout (if any) the ledger confirmed, written in the same transaction as the BetsSettled event naming it.
-- The primary key is what makes a rerun announce each bet once.
CREATE TABLE settled_bets (
    bet_id        uuid        PRIMARY KEY,
    pool_id       uuid        NOT NULL,
    user_id       uuid        NOT NULL,
    result        text        NOT NULL CHECK (result IN ('won', 'lost', 'refunded')),
    stake_minor   bigint      NOT NULL,
    payout_minor  bigint      NOT NULL,
    settled_at    timestamptz NOT NULL
);

CREATE INDEX settled_bets_by_pool ON settled_bets (pool_id);
