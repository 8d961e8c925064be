-- A delivery keeps the traceparent of the consumer span that planned it (shared/tracing.py), so the later webhook
-- POST or e-mail continues the concern's trace. NULL while tracing is off (the session setting is never set).
-- depends: notify_0004_shared_outbox
ALTER TABLE deliveries ADD COLUMN traceparent text;
ALTER TABLE deliveries ALTER COLUMN traceparent SET DEFAULT NULLIF(current_setting('crp.traceparent', true), '');
