-- KYC checks with an identity provider, and the audit trail of every tier change.

CREATE TABLE kyc_checks (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id),
    provider          text NOT NULL,
    provider_check_id text NOT NULL,
    -- pending: waiting for the provider; review: the provider said "consider" and an admin decides;
    -- approved and rejected are final.
    status            text NOT NULL CHECK (status IN ('pending', 'review', 'approved', 'rejected')),
    provider_result   text NULL,
    created_at        timestamptz NOT NULL,
    completed_at      timestamptz NULL,
    decided_by        uuid NULL REFERENCES users (id),
    decision_note     text NULL,
    UNIQUE (provider, provider_check_id)
);
-- At most one open check per player.
CREATE UNIQUE INDEX kyc_checks_one_open ON kyc_checks (user_id) WHERE status IN ('pending', 'review');
CREATE INDEX kyc_checks_review_queue ON kyc_checks (created_at) WHERE status = 'review';
CREATE INDEX kyc_checks_pending ON kyc_checks (provider, created_at) WHERE status = 'pending';

CREATE TABLE kyc_status_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    from_tier  smallint NOT NULL,
    to_tier    smallint NOT NULL,
    status     text NOT NULL,
    reason     text NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX kyc_status_changes_user ON kyc_status_changes (user_id, changed_at);
