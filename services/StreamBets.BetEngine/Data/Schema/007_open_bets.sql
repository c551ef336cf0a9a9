-- The bets a user has open (pending or accepted, not yet settled), newest first: what "My bets" opens on. Read through
-- bets_by_user, that list walked the user's whole history (one bets page and one bet_settlements probe per bet) to find
-- the few still open. Not a partial index on bets: settlement does not touch the bet row (004), and an index on status
-- would make the decision update non-HOT (005).
CREATE TABLE open_bets (
    user_id   uuid        NOT NULL,
    placed_at timestamptz NOT NULL,
    bet_id    uuid        NOT NULL,
    PRIMARY KEY (user_id, placed_at, bet_id)
);

-- Kept by triggers, not by the application's statements: in a rolling deploy a replica on the previous version writes,
-- decides and settles bets with its own statements, and triggers run whatever statement changes bets. Statement-level,
-- with transition tables: one insert or delete per statement (a row-level trigger runs once per bet). Nothing here
-- touches a bets index, so decisions stay HOT. Existing bets are added by 008, once these are in place.

CREATE FUNCTION open_bets_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO open_bets (user_id, placed_at, bet_id)
    SELECT user_id, placed_at, bet_id FROM written_bets WHERE status <> 'rejected';
    RETURN NULL;
END $$;

CREATE TRIGGER open_bets_written AFTER INSERT ON bets
REFERENCING NEW TABLE AS written_bets FOR EACH STATEMENT EXECUTE FUNCTION open_bets_written();

-- Every update of bets passes here (decisions, recovery claims, refunds): a transition table rules out UPDATE OF and
-- WHEN, so the rejected rows are picked inside. Rows rejected earlier find nothing left to delete.
CREATE FUNCTION open_bets_rejected() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM open_bets o USING decided_bets d
    WHERE d.status = 'rejected' AND (o.user_id, o.placed_at, o.bet_id) = (d.user_id, d.placed_at, d.bet_id);
    RETURN NULL;
END $$;

CREATE TRIGGER open_bets_rejected AFTER UPDATE ON bets
REFERENCING NEW TABLE AS decided_bets FOR EACH STATEMENT EXECUTE FUNCTION open_bets_rejected();

CREATE FUNCTION open_bets_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM open_bets o USING settled_bets s JOIN bets b ON b.bet_id = s.bet_id
    WHERE (o.user_id, o.placed_at, o.bet_id) = (b.user_id, b.placed_at, b.bet_id);
    RETURN NULL;
END $$;

CREATE TRIGGER open_bets_settled AFTER INSERT ON bet_settlements
REFERENCING NEW TABLE AS settled_bets FOR EACH STATEMENT EXECUTE FUNCTION open_bets_settled();
