-- Settled pools whose escrow did not end at 0 (never expected: see docs/settlement.md): the escrow-residue gauge counts
-- them every 15 s and GET /api/settlements?residue=true lists them, newest first, without reading every settled row.
CREATE INDEX settlements_with_escrow_residue ON settlements (created_at DESC, pool_id DESC) WHERE escrow_residue_minor <> 0;
