-- Accounts, login sessions and the login throttle.

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    email            text NOT NULL,
    password_hash    text NOT NULL,
    display_name     text NOT NULL,
    date_of_birth    date NOT NULL,
    country          char(2) NOT NULL,
    -- The identity document behind KYC tier 1: a CPF (digits only) for Brazil, otherwise what the player gave.
    document_type    text NULL,
    document_number  text NULL,
    role             text NOT NULL DEFAULT 'player' CHECK (role IN ('player', 'streamer', 'admin')),
    kyc_tier         smallint NOT NULL DEFAULT 0 CHECK (kyc_tier BETWEEN 0 AND 2),
    avatar_url       text NULL,
    marketing_opt_in boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK ((document_type IS NULL) = (document_number IS NULL))
);

-- Emails are unique case-insensitively; every lookup uses the same lower() so the index serves it.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
-- One account per identity document: the basis of one-account-per-person.
CREATE UNIQUE INDEX users_document_unique ON users (country, document_type, document_number) WHERE document_number IS NOT NULL;

-- A login session is one refresh-token family. Revoking it ends every token of the family.
CREATE TABLE sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    started_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz NULL,
    revoked_reason text NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens are stored as SHA-256 hashes; a used token stays, so its reuse can be recognised.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id),
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NULL
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Failed logins per email, whether or not an account exists, so a lockout never reveals which emails are registered.
CREATE TABLE login_throttle (
    email_key         text PRIMARY KEY,
    failures          int NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until      timestamptz NULL
);

-- A streamer's channels on Twitch, Kick and YouTube. Read-only here; the Integration service links them.
CREATE TABLE linked_channels (
    user_id      uuid NOT NULL REFERENCES users (id),
    platform     text NOT NULL CHECK (platform IN ('twitch', 'kick', 'youtube')),
    channel_id   text NOT NULL,
    channel_name text NOT NULL,
    linked_at    timestamptz NOT NULL,
    PRIMARY KEY (platform, channel_id)
);
CREATE INDEX linked_channels_user ON linked_channels (user_id);
