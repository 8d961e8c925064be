-- Notify's own tables: subscriptions, deliveries (with their retry state), the feed, reporters to tell, an outbox.

CREATE TABLE subscriptions (
    id                 uuid        PRIMARY KEY,
    client_id          text        NOT NULL,          -- the API client that owns it; its scope is read live
    url                text        NOT NULL,
    event_types        text[]      NOT NULL,
    description        text,
    secret_ciphertext  bytea       NOT NULL,          -- AES-GCM under a key derived from MASTER_KEY
    state              text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'deleted')),
    disabled_reason    text,
    failing_since      timestamptz,                   -- first failure since the last success
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_by_client ON subscriptions (client_id);
CREATE INDEX subscriptions_active ON subscriptions (state) WHERE state = 'active';

CREATE TABLE deliveries (
    id                 uuid        PRIMARY KEY,       -- uuid5(subscription or recipient, event): replays collapse
    seq                bigserial   UNIQUE,
    channel            text        NOT NULL CHECK (channel IN ('webhook', 'email')),
    subscription_id    uuid        REFERENCES subscriptions (id),
    recipient_id       text,                          -- e-mail: the consultant or escalation contact, or 'reporter'
    target_key         text        NOT NULL,          -- concurrency is limited per target
    template           text,
    concern_id         text,
    referral_id        text,
    municipality_code  text,
    event_id           text        NOT NULL,
    event_type         text        NOT NULL,
    event_time         timestamptz NOT NULL,
    body               text        NOT NULL,          -- webhook JSON as sent, or the e-mail template's thin context
    state              text        NOT NULL DEFAULT 'pending'
                                   CHECK (state IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts           integer     NOT NULL DEFAULT 0,
    generation         integer     NOT NULL DEFAULT 0, -- bumped by each redelivery
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    window_started_at  timestamptz NOT NULL DEFAULT now(),
    lease_owner        text,
    lease_until        timestamptz,
    last_reason        text,
    last_status        integer,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    delivered_at       timestamptz
);
CREATE INDEX deliveries_due ON deliveries (target_key, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_state ON deliveries (state, seq);
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, seq);
CREATE INDEX deliveries_of_concern ON deliveries (concern_id) WHERE state = 'pending' AND concern_id IS NOT NULL;

-- The feed: referral events in commit order. Rows are numbered under a transaction lock, so a reader
-- never sees a later number before an earlier one has committed.
CREATE TABLE feed_events (
    seq                bigint      PRIMARY KEY,
    event_id           text        NOT NULL UNIQUE,
    event_type         text        NOT NULL,
    target             text        NOT NULL,
    municipality_code  text        NOT NULL,
    department_id      text        NOT NULL,
    time               timestamptz NOT NULL,
    body               jsonb       NOT NULL
);
CREATE INDEX feed_by_municipality ON feed_events (municipality_code, seq);
CREATE SEQUENCE feed_seq;

-- Concerns whose reporter left a contact: they get status updates. Forgotten on erasure.
CREATE TABLE reporter_concerns (
    concern_id         text        PRIMARY KEY,
    reported_at        timestamptz NOT NULL
);

-- Delivery outcome events, written with the outcome and relayed to Kafka: none is lost in a crash.
CREATE TABLE outbox (
    seq                bigserial   PRIMARY KEY,
    topic              text        NOT NULL,
    key                text        NOT NULL,
    event_id           text        NOT NULL,
    event_type         text        NOT NULL,
    payload            bytea       NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
