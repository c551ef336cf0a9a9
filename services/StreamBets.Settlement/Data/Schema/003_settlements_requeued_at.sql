-- When an operator last sent the failed settlement back to 'due' (null if never). The backlog gauge measures a wait
-- from then, not from created_at: a settlement failed two days ago and requeued now has waited seconds, not two days.
-- created_at stays when the pool finished (the operators' list is ordered by it).
ALTER TABLE settlements ADD COLUMN requeued_at timestamptz;
