-- The document store in local mode (Documents:Store=Postgres): templates and dynamic configuration as jsonb.
-- In container mode the same documents live in MongoDB and this table stays empty.
CREATE TABLE documents (
    collection text        NOT NULL,
    id         text        NOT NULL,
    body       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, id)
);
