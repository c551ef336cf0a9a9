-- A start claims the player's one open check before it calls the provider: the claim is a pending row with no
-- provider_check_id yet, so the one-open index refuses a second start before it is billed. Webhooks find checks by
-- provider_check_id and the sandbox poller skips NULLs, so neither sees a claim. Dropping NOT NULL is metadata only.
ALTER TABLE kyc_checks ALTER COLUMN provider_check_id DROP NOT NULL;

-- The review queue is paged by when a check entered review (completed_at), not by when it started.
CREATE INDEX kyc_checks_review_queue_by_entry ON kyc_checks (completed_at, id) WHERE status = 'review';
DROP INDEX kyc_checks_review_queue;
