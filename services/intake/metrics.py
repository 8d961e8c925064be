"""The intake service's own metrics (the shared HTTP and event metrics come from shared.metrics)."""

from prometheus_client import Counter, Gauge, Histogram

CONCERNS_ACCEPTED = Counter(
    "intake_concerns_accepted_total", "Concerns accepted (stored durably), by source.", ["source"]
)
CONCERNS_REPLAYED = Counter(
    "intake_concerns_replayed_total", "Requests answered with an earlier concern (idempotent replays).", ["source"]
)
CONCERNS_REFUSED = Counter(
    "intake_concerns_refused_total", "Concerns refused, by source and reason.", ["source", "reason"]
)
ACCEPT_SECONDS = Histogram(
    "intake_concern_accept_seconds", "Time from a checked report to its durable commit.", ["source"]
)
OUTBOX_LAG = Gauge("intake_outbox_lag_seconds", "Age of the oldest unpublished outbox row (0 when none).")
OUTBOX_PENDING = Gauge("intake_outbox_pending", "Outbox rows not yet published.")
RELAY_BATCH_SECONDS = Histogram("intake_outbox_relay_batch_seconds", "Time to publish and mark one outbox batch.")
RELAY_ERRORS = Counter("intake_outbox_relay_errors_total", "Relay failures (retried), by error type.", ["error"])
DETAIL_READS = Counter(
    "intake_detail_reads_total",
    "Decrypting reads of personal details (each also audited), by role and basis.",
    ["role", "basis"],
)
ERASURES = Counter("intake_erasures_total", "Concerns erased (data key destroyed).")


def source_label(channel: str, system: str | None = None, known: bool = True) -> str:
    """`http`, `inbound:<system>`, or `inbound:unknown` (unknown systems must not grow the label set)."""
    if channel == "http":
        return "http"
    return f"inbound:{system}" if system and known else "inbound:unknown"
