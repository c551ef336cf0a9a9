-- When a session ended (revoked, or else expired), so the hourly cleanup finds the sessions long ended without reading
-- the whole table (docs/users.md, "Tokens and sessions"). LEAST ignores a NULL revoked_at.
CREATE INDEX sessions_ended ON sessions (least(expires_at, revoked_at));
