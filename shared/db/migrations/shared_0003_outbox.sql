-- The transactional outbox every service writes its events to, in the transaction of the change they describe;
-- the relay (shared/outbox) publishes them in id order and marks them. Each service's database has its own.
-- A new name: the services' earlier `outbox` tables are moved into this one by their own migrations.
-- depends: shared_0002_processed_events_key
CREATE TABLE outbox_events (
    id           bigserial   PRIMARY KEY,           -- the relay's order, and so the order per key
    topic        text        NOT NULL,              -- the contract's topic name (or a physical one, see the relay)
    key          text        NOT NULL,              -- the Kafka key: the subject, whose events keep their order
    event_id     text        NOT NULL UNIQUE,       -- an event is queued once
    event_type   text        NOT NULL,
    payload      bytea       NOT NULL,              -- the encoded envelope
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz                        -- NULL until the broker acknowledged it
);
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE published_at IS NULL;
CREATE INDEX outbox_events_published_at ON outbox_events (published_at) WHERE published_at IS NOT NULL;

-- Wake the relay when rows commit (delivered at commit; the notifications of one transaction fold into one).
CREATE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_events', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify();
