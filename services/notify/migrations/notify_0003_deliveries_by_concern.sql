-- Ops lists a concern's deliveries (GET /v1/deliveries?concern_id=...: did the reporter's receipt go out?).
CREATE INDEX IF NOT EXISTS deliveries_by_concern ON deliveries (concern_id, seq) WHERE concern_id IS NOT NULL;
