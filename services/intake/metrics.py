"""The intake service's own metrics (the shared HTTP and event metrics come from shared.metrics)."""

from prometheus_client import Counter, Histogram

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
