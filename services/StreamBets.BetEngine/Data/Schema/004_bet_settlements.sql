-- What settlement paid on each bet, in a table of its own. Recording it on the bet row was an UPDATE that could not
-- be HOT (the row moved, and every index of bets got a new entry): 86 ms per 1,000 bets, the largest cost of settling
-- a big pool in betsdb. An insert into this narrow table writes one row and one index entry.
CREATE TABLE bet_settlements (
    bet_id        uuid        PRIMARY KEY,  -- a bet of this service's bets table: settlement only pays bets it streamed from here
    result        text        NOT NULL CHECK (result IN ('won', 'lost', 'refunded')),
    payout_minor  bigint      NOT NULL CHECK (payout_minor >= 0),
    settled_at    timestamptz NOT NULL
);

INSERT INTO bet_settlements (bet_id, result, payout_minor, settled_at)
SELECT bet_id, settled_result, coalesce(payout_minor, 0), settled_at FROM bets WHERE settled_result IS NOT NULL;

ALTER TABLE bets DROP COLUMN settled_result, DROP COLUMN payout_minor, DROP COLUMN settled_at;
