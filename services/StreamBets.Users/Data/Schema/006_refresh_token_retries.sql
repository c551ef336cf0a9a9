-- A refresh whose answer was lost is retried with the same token within seconds (docs/users.md). The token a refresh
-- token was issued from lets such a retry supersede the successor nobody received; a superseded token presented later,
-- or a retry after its successor was used, reads as a copied token and ends the session.
ALTER TABLE refresh_tokens ADD COLUMN issued_from bytea NULL, ADD COLUMN superseded boolean NOT NULL DEFAULT false;
