-- Notify's outcome events move to the shared outbox (outbox_events, shared_0003_outbox.sql) with its one relay.
-- The old relay deleted what it published, so every row left is unpublished: each moves, in order, and the new
-- relay publishes it; then the old table goes.
-- depends: shared_0003_outbox notify_0003_deliveries_by_concern
LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;
INSERT INTO outbox_events (topic, key, event_id, event_type, payload, created_at)
SELECT topic, key, event_id, event_type, payload, created_at FROM outbox ORDER BY seq
ON CONFLICT (event_id) DO NOTHING;
DROP TABLE outbox;
