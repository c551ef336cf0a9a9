-- The operators' list (GET /api/settlements), newest finished pool first and keyset-paged, with or without a status:
-- failed settlements are few among millions of settled ones, so the status leads its own index.
CREATE INDEX settlements_newest ON settlements (created_at DESC, pool_id DESC);
CREATE INDEX settlements_newest_by_status ON settlements (status, created_at DESC, pool_id DESC);
