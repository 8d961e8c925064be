-- Intake's events move to the shared outbox (outbox_events, shared_0003_outbox.sql) with its one relay. Every
-- row moves, in id order and with its published mark, so an unpublished one is published by the new relay;
-- then the old table, its trigger and its function go.
-- depends: shared_0003_outbox intake_0006_reference_directory
LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;
INSERT INTO outbox_events (topic, key, event_id, event_type, payload, created_at, published_at)
SELECT topic, kafka_key, event_id::text, event_type, envelope, created_at, published_at FROM outbox ORDER BY id
ON CONFLICT (event_id) DO NOTHING;
DROP TABLE outbox;
DROP FUNCTION intake_outbox_notify();
