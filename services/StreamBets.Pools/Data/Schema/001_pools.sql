-- Pools and their outcomes. A pool row changes only through an UPDATE that checks and bumps version
-- (optimistic concurrency), in the same transaction as the outbox rows of the events the change caused.
CREATE TABLE pools (
    id                  uuid         PRIMARY KEY,
    channel_provider    text         NOT NULL,   -- "twitch", "kick", "youtube"
    channel_id          text         NOT NULL,   -- the broadcaster's channel id on that platform
    created_by          uuid         NOT NULL,   -- the streamer (or admin) who created it
    template_id         text,
    title               varchar(45)  NOT NULL,
    betting_window      interval     NOT NULL,
    min_stake_minor     bigint       NOT NULL CHECK (min_stake_minor > 0),
    max_stake_minor     bigint       NOT NULL CHECK (max_stake_minor >= min_stake_minor),
    rake_bps            integer      NOT NULL CHECK (rake_bps BETWEEN 0 AND 10000),
    state               text         NOT NULL CHECK (state IN ('draft', 'open', 'locked', 'resolved', 'cancelled')),
    -- Set when the "one active pool per channel" setting was on at creation; the partial unique index below enforces it.
    exclusive           boolean      NOT NULL,
    created_at          timestamptz  NOT NULL,
    opened_at           timestamptz,
    locks_at            timestamptz,
    locked_at           timestamptz,
    closed_at           timestamptz,
    winning_outcome_ids uuid[]       NOT NULL DEFAULT '{}',
    cancellation_reason text         CHECK (cancellation_reason IN ('manual', 'abandoned')),
    cancelled_by_role   text,        -- who cancelled by hand: "streamer" or "admin"
    version             integer      NOT NULL DEFAULT 1
);

-- A broadcaster has at most one active pool per channel, among pools created while the setting was on.
CREATE UNIQUE INDEX pools_one_active_per_channel ON pools (channel_provider, channel_id)
    WHERE exclusive AND state IN ('draft', 'open', 'locked');

-- Live pools of a channel, for players.
CREATE INDEX pools_live_by_channel ON pools (channel_provider, channel_id, locks_at)
    WHERE state IN ('open', 'locked');

-- The sweeper reads only what is due: open pools by lock time, locked pools by lock age.
CREATE INDEX pools_open_by_locks_at ON pools (locks_at) WHERE state = 'open';
CREATE INDEX pools_locked_by_locked_at ON pools (locked_at) WHERE state = 'locked';

-- Outcomes in display order, with the stakes placed on them as the BetEngine reported (BetPlaced, deduplicated by the inbox).
CREATE TABLE pool_outcomes (
    id           uuid        PRIMARY KEY,
    pool_id      uuid        NOT NULL REFERENCES pools (id),
    position     smallint    NOT NULL,
    label        varchar(25) NOT NULL,
    staked_minor bigint      NOT NULL DEFAULT 0,
    bet_count    integer     NOT NULL DEFAULT 0,
    UNIQUE (pool_id, position)
);
