"""The relay's metrics, one set for every service (label `service`)."""

from prometheus_client import Counter, Gauge, Histogram

PENDING = Gauge("outbox_pending", "Outbox rows not yet published (set by the leading relay, 0 elsewhere).", ["service"])
LAG = Gauge("outbox_oldest_pending_seconds", "Age of the oldest unpublished outbox row (0 when none).", ["service"])
LEADER = Gauge("outbox_relay_leader", "1 while this process's relay holds its service's relay lock.", ["service"])
PUBLISHED = Counter("outbox_published_total", "Events the relay published to Kafka.", ["service", "event_type"])
BATCH_SIZE = Histogram(
    "outbox_relay_batch_size",
    "Rows published per relay batch.",
    ["service"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
BATCH_SECONDS = Histogram("outbox_relay_batch_seconds", "Time to publish and mark one outbox batch.", ["service"])
ERRORS = Counter("outbox_relay_errors_total", "Relay failures (retried), by error type.", ["service", "error"])
