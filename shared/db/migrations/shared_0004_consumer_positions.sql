-- Where each consumer of a Faust agent stands in each partition: every offset below next_offset is applied (or
-- dead-lettered) durably. Written after the effect commits, only ever forward; read when a partition is (re)assigned.
-- Kafka's committed offset is only a hint for where Faust starts fetching: Faust can commit past events it skipped
-- during a rebalance, so the agents trust this table (shared/kafka/positions.py).
-- depends: shared_0002_processed_events_key
CREATE TABLE IF NOT EXISTS consumer_positions (
    consumer    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
