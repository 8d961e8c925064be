-- Routing's events move to the shared outbox (outbox_events, shared_0003_outbox.sql) with its one relay. Every
-- row moves, in id order and with its published mark, so an unpublished one is published by the new relay;
-- then the old table goes.
-- depends: shared_0003_outbox routing_0005_hint_suggestions
LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;
INSERT INTO outbox_events (topic, key, event_id, event_type, payload, created_at, published_at)
SELECT topic, key, event_id, event_type, payload, created_at, published_at FROM outbox ORDER BY id
ON CONFLICT (event_id) DO NOTHING;
DROP TABLE outbox;
