-- What admins changed in the pools' configuration and templates, and who: the rake is money, so its history is kept
-- where operators can read it back (GET /api/pools/admin/changes), not only in the logs. Append-only.
CREATE TABLE admin_changes (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- newest first = highest id first
    changed_at  timestamptz NOT NULL,
    admin_id    uuid        NOT NULL,
    admin_name  text        NOT NULL,  -- as the admin's token named them at the time
    action      text        NOT NULL,  -- config-changed, template-saved, template-deleted
    subject     text        NOT NULL,  -- "pools" for the configuration, else the template id
    details     jsonb       NOT NULL   -- the new values ({} for a deletion)
);
