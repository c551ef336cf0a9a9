-- Failed sign-ins per email and source (the client's network as the gateway saw it), plus one row per email with
-- source '' counting every source against a higher ceiling. Counted whether or not an account exists, so a lockout
-- never reveals which emails are registered (docs/users.md, "Lockout").
-- A new table rather than a source column in login_throttle: replicas of the previous version keep running during a
-- rolling deploy, and they upsert login_throttle ON CONFLICT (email_key) and join it in every eligibility check, so
-- a changed key or a dropped table would fail their sign-ins and refuse every bet they judge. login_throttle is no
-- longer read or written by this version; a later script drops it once no replica of the previous one runs.
CREATE TABLE login_failures (
    email_key         text NOT NULL,
    source            text NOT NULL,
    failures          int NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until      timestamptz NULL,
    PRIMARY KEY (email_key, source)
);
