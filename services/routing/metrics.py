"""The routing service's own metrics (the shared RED metrics live in shared/metrics.py)."""

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from services.routing.domain.referral import Referral

# By target only: a category label on the unauthenticated /metrics would tell an association, watching the
# counters when its referral arrives, the health categories the same concern was routed elsewhere for.
REFERRALS_CREATED = Counter("routing_referrals_created_total", "Referrals created, by target.", ["target"])
TRANSITIONS = Counter(
    "routing_transitions_total", "Referral moves, by target and states.", ["target", "from_status", "to_status"]
)
OPEN_REFERRALS = Gauge(
    "routing_open_referrals",
    "Open referrals by target and age (the same figure from every worker: take max).",
    ["target", "age"],
)
# By municipality too, for the on-call alert "SLA breaches rising in one municipality": a municipality's single
# entry point that stopped answering. A count of late referrals per municipality (98 public bodies) says nothing
# of a resident; departments and categories stay off /metrics.
SLA_BREACHES = Counter(
    "routing_sla_breaches_total",
    "Referrals not acknowledged by their due time, by target, severity and municipality code.",
    ["target", "severity", "municipality"],
)
ACK_OVERDUE = Gauge(
    "routing_ack_overdue_referrals",
    "Referrals past their acknowledgement due time and still not acknowledged, by target and severity "
    "(the same figure from every worker: take max).",
    ["target", "severity"],
)
UNDERRETNING_RECEIPT_BREACHES = Counter(
    "routing_underretning_receipt_breaches_total",
    "Underretninger whose receipt the municipality did not confirm within 6 working days.",
)
ESCALATIONS = Counter(
    "routing_escalations_total", "Referrals escalated at twice their due time.", ["target", "severity"]
)
REROUTES = Counter(
    "routing_reroutes_total", "Rejected referrals re-routed along the fallback chain.", ["from_target", "to_target"]
)
# No hint label, for the reason above: a hint names a category (mental health, substance abuse, dementia).
SUGGESTIONS_MADE = Counter("routing_suggestions_made_total", "Recipients suggested from hints for the consultant.")
SUGGESTION_DECISIONS = Counter(
    "routing_suggestion_decisions_total", "Suggestions from hints decided, by decision.", ["decision"]
)
CONSUMER_LAG = Gauge(
    "routing_consumer_lag", "Messages of concern-events not yet committed by this worker.", ["topic", "partition"]
)
BATCH_SIZE = Histogram(
    "routing_batch_size", "Concern events applied per transaction.", buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
)

AGE_BUCKETS = (("lt_1h", "1 hour"), ("lt_1d", "1 day"), ("lt_3d", "3 days"), ("lt_7d", "7 days"), ("lt_30d", "30 days"))
"""Age buckets of open referrals (upper bounds); older ones count as `gte_30d`."""


def referrals_created(referrals: Iterable[Referral]) -> None:
    """Count created referrals once they are committed."""
    for referral in referrals:
        REFERRALS_CREATED.labels(referral.target.value).inc()


REPEAT_WINDOW_LOOKUPS = Counter(
    "routing_repeat_window_lookups_total",
    "Repeat-window look-ups in the Faust table: hit (decided from the table) or miss (read from PostgreSQL).",
    ["result"],
)
REPEAT_WINDOW_SUBJECTS = Gauge("routing_repeat_window_subjects", "Subjects held in this worker's repeat-windows table.")
