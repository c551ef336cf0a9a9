-- The times of the failures that still count per row (at most the policy's maximum, oldest first), so the lockout counts
-- failures within any 15 minutes rather than within 15 minutes of a row's first failure (docs/users.md, "Lockout").
-- failures and window_started_at are still written (the count and the oldest kept failure) for replicas of the previous
-- version during a rolling deploy; this version reads failed_at alone. A constant default: no table rewrite.
ALTER TABLE login_failures ADD COLUMN failed_at timestamptz[] NOT NULL DEFAULT '{}';
