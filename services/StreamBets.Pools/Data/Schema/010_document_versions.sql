-- A version per document, raised by every write: an admin's save applies only if the document is still at the version
-- their form was read at (compare-and-swap), so a stale form cannot overwrite another admin's change. MongoDB keeps
-- the same as the document's _version field.
ALTER TABLE documents ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- A change's subject's newest row: how a retried change finds whether its first attempt was recorded.
CREATE INDEX admin_changes_by_subject ON admin_changes (subject, id DESC);
