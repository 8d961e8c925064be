-- Each outbox row keeps the W3C traceparent of the span current when it was written (shared/tracing.py), so the
-- relay's publish span continues the trace of the change. With tracing on, a pooled connection carries the
-- acquirer's traceparent in the session setting crp.traceparent; with tracing off the setting is never set and the
-- column stays NULL. No rewrite: existing rows stay NULL, the default applies to new ones.
-- depends: shared_0003_outbox shared_0004_consumer_positions
ALTER TABLE outbox_events ADD COLUMN traceparent text;
ALTER TABLE outbox_events ALTER COLUMN traceparent SET DEFAULT NULLIF(current_setting('crp.traceparent', true), '');
