-- Responsible gambling: limits, self-exclusion and the deposits the limits are measured against.

-- One row per player and limit. A lowered limit replaces `value` at once; a raised or removed one waits
-- in `pending_*` until `pending_effective_at` and is folded in lazily when read.
CREATE TABLE rg_limits (
    user_id              uuid NOT NULL REFERENCES users (id),
    kind                 text NOT NULL CHECK (kind IN ('deposit-24h', 'deposit-7d', 'deposit-30d', 'session-minutes')),
    value                bigint NULL CHECK (value > 0),
    has_pending          boolean NOT NULL DEFAULT false,
    pending_value        bigint NULL CHECK (pending_value > 0),
    pending_effective_at timestamptz NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind),
    CHECK (has_pending = (pending_effective_at IS NOT NULL))
);

-- One row per player: a self-exclusion can only be extended, never shortened or lifted early.
CREATE TABLE rg_self_exclusions (
    user_id    uuid PRIMARY KEY REFERENCES users (id),
    period     text NOT NULL CHECK (period IN ('6-months', '12-months', 'indefinite')),
    started_at timestamptz NOT NULL,
    ends_at    timestamptz NULL
);

-- Succeeded deposits, recorded idempotently by deposit id (fed by DepositSucceeded from Payments).
CREATE TABLE rg_deposits (
    deposit_id   uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX rg_deposits_user_time ON rg_deposits (user_id, occurred_at);
