-- Recovery claims the pending bets it is about to re-drive, in a commit of its own before it sends their stakes again.
-- A live batch's finalize leaves a claimed bet pending, so only recovery, which replays every claimed stake and so
-- learns whether it moved, decides it: no stake recovery moved is decided by a finalizer that does not know it moved
-- (left in escrow for good behind a rejected bet). A claim older than the recovery grace period belongs to a recoverer
-- that is gone, and may be taken again. Not indexed: claiming, and deciding afterwards, stay HOT updates.
ALTER TABLE bets ADD COLUMN recovery_claimed_at timestamptz;
