-- attempts no longer goes back to 0 on a requeue: each run's number stays unique for the row's life, so the late
-- outcome of a run whose lock session died cannot match a newer run's (RetryLaterAsync and FailAsync check it). This
-- keeps the count of runs started before the last requeue, so a requeued run's retry backoff starts small again.
ALTER TABLE settlements ADD COLUMN attempts_before_requeue integer NOT NULL DEFAULT 0;
