-- Double-entry wallet ledger.
-- Every movement of money is a transfer: an immutable row plus one entry per account it touches,
-- whose amounts sum to zero. Each account keeps its balance on its own row for fast reads, and that
-- balance always equals the sum of the account's entries. The database, not only the application,
-- refuses a negative balance for every account except PSP clearing (which mirrors money held at the
-- payment provider and is therefore a liability-side account that runs negative).

CREATE TABLE ledger_accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- 'user:{uuid}', 'escrow:pool:{uuid}', 'house:rake', 'house:breakage', 'psp:clearing'
    code        text        NOT NULL UNIQUE,
    kind        text        NOT NULL,
    -- The user id or pool id the account belongs to; NULL for house and PSP accounts.
    owner_id    uuid        NULL,
    balance     bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_accounts_kind_matches_code CHECK (
           (kind = 'user'           AND owner_id IS NOT NULL AND code = 'user:' || owner_id::text)
        OR (kind = 'pool_escrow'    AND owner_id IS NOT NULL AND code = 'escrow:pool:' || owner_id::text)
        OR (kind = 'house_rake'     AND owner_id IS NULL     AND code = 'house:rake')
        OR (kind = 'house_breakage' AND owner_id IS NULL     AND code = 'house:breakage')
        OR (kind = 'psp_clearing'   AND owner_id IS NULL     AND code = 'psp:clearing')),
    -- The backstop: even a buggy or bypassing writer cannot overdraw a wallet, an escrow or a house account.
    CONSTRAINT ledger_accounts_balance_not_negative CHECK (balance >= 0 OR kind = 'psp_clearing')
) WITH (fillfactor = 70); -- room for HOT updates: balances change constantly, indexed columns never do.

CREATE TABLE ledger_transfers (
    -- Ledger position: increases with every applied transfer; history pages by it.
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The caller's idempotency key: a transfer is applied at most once per id.
    transfer_id  uuid        NOT NULL UNIQUE,
    -- Why the money moved ("bet-stake", "settlement", "sandbox-credit"...) and what it belongs to (a bet or pool id...).
    reason       text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 64),
    reference    text        NULL CHECK (length(reference) BETWEEN 1 AND 128),
    created_at   timestamptz NOT NULL
);

-- One entry per (transfer, account): the net amount the transfer moved on that account
-- (positive = credit) and the account's balance right after it. Its transfer and account must
-- exist; the statement-level check below enforces that for a whole batch at once, because
-- per-row foreign keys cost the hot path a third of its time.
CREATE TABLE ledger_entries (
    transfer_seq   bigint NOT NULL,
    account_id     bigint NOT NULL,
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_after  bigint NOT NULL,
    PRIMARY KEY (transfer_seq, account_id)
);

-- History: an account's entries, newest first.
CREATE INDEX ledger_entries_account_history ON ledger_entries (account_id, transfer_seq DESC);

-- Double entry, enforced by the database: every transfer's entries sum to zero, and every entry
-- belongs to an existing transfer and account. A transfer's entries are always inserted by one
-- statement, which this statement-level check sees whole. Neither transfers nor accounts can be
-- deleted (see the triggers below), so what it finds stays true.
CREATE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT transfer_seq INTO bad FROM new_entries GROUP BY transfer_seq HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transfer % does not balance: its entries must sum to zero', bad USING ERRCODE = 'check_violation';
    END IF;
    SELECT e.transfer_seq INTO bad FROM new_entries e
    WHERE NOT EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.seq = e.transfer_seq)
       OR NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = e.account_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'an entry of transfer % names a transfer or account that does not exist', bad USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_entries_checked AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_entries();

-- Transfers and entries are facts: they are never changed or removed.
CREATE FUNCTION ledger_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger % rows are immutable', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();
CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();
-- An account lives for ever and never changes what it is; only its balance moves.
CREATE TRIGGER ledger_accounts_permanent BEFORE DELETE OR UPDATE OF id, code, kind, owner_id ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();

-- The accounts every deployment has from the start.
INSERT INTO ledger_accounts (code, kind) VALUES
    ('house:rake', 'house_rake'),
    ('house:breakage', 'house_breakage'),
    ('psp:clearing', 'psp_clearing');
