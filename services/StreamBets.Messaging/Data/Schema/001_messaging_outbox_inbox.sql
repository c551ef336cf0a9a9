-- The event bus tables, applied to every service database that uses messaging (AddEventBus applies them).

-- Events written in the caller's transaction; the relay deletes a row once the broker acknowledged it.
-- position is the publish order: per key, the relay never publishes a row before an earlier one of the same key.
CREATE TABLE IF NOT EXISTS outbox (
    position      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      uuid        NOT NULL,
    topic         text        NOT NULL,
    partition_key text        NOT NULL,
    event_type    text        NOT NULL,
    envelope      json        NOT NULL,  -- the CloudEvents structured-mode JSON, shipped as is
    created_at    timestamptz NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text
);

-- Events this service's consumer group has applied, written in the same transaction as the handler's own writes,
-- so a redelivered event finds its row and has no second effect.
CREATE TABLE IF NOT EXISTS inbox (
    consumer_group text        NOT NULL,
    event_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);

CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at);
