-- Each pool keeps the auto-cancel term in force when it was created, as it keeps its rake: an operator shortening
-- autoCancelAfterHours must not cancel (and refund) pools already locked and waiting for a result under the longer one.
-- auto_cancel_after is that term; abandons_at is when the pool cancels itself, locked_at + auto_cancel_after, written
-- when it locks so the sweeper finds due pools by index. Rows stored before this script have neither: they follow the
-- configured setting, as before. A pool created by a new replica but locked by an old one during a rolling deploy has
-- its term but no abandons_at: the sweeper finds it by its lock time and own term. Added without defaults, so neither
-- column rewrites the table.
ALTER TABLE pools ADD COLUMN auto_cancel_after interval CHECK (auto_cancel_after > interval '0');
ALTER TABLE pools ADD COLUMN abandons_at timestamptz;

-- The sweeper's abandoned pools: those with a deadline by it, the few locked without one (above) by their lock time.
CREATE INDEX pools_locked_by_abandons_at ON pools (abandons_at) WHERE state = 'locked';
CREATE INDEX pools_locked_without_deadline_by_locked_at ON pools (locked_at) WHERE state = 'locked' AND abandons_at IS NULL;
