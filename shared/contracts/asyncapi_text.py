"""The prose and the service table of the AsyncAPI document (DESIGN.md, "Topics and events")."""

from typing import Final

from shared.contracts.errors import REASONS
from shared.contracts.topics import (
    API_CLIENTS,
    CONCERN_EVENTS,
    CONCERN_INBOUND,
    NOTIFICATION_EVENTS,
    REFERENCE_DATA,
    REFERRAL_EVENTS,
)

SERVICES: Final = ("intake", "routing", "notify", "stats")

FLOWS: Final = (
    ("housing-systems", "send", CONCERN_INBOUND),
    ("intake", "receive", CONCERN_INBOUND),
    ("intake", "send", CONCERN_EVENTS),
    ("routing", "receive", CONCERN_EVENTS),
    ("stats", "receive", CONCERN_EVENTS),
    ("routing", "send", REFERRAL_EVENTS),
    ("notify", "receive", REFERRAL_EVENTS),
    ("stats", "receive", REFERRAL_EVENTS),
    ("notify", "send", NOTIFICATION_EVENTS),
    ("stats", "receive", NOTIFICATION_EVENTS),
    ("crp-cli", "send", API_CLIENTS),
    ("intake", "send", API_CLIENTS),
    *((service, "receive", API_CLIENTS) for service in SERVICES),
    ("intake", "send", REFERENCE_DATA),
    *((service, "receive", REFERENCE_DATA) for service in ("routing", "notify", "stats")),
)
"""(who, send|receive, topic): who writes and who reads each topic."""

KEYS: Final = {
    CONCERN_INBOUND: "Source system id and external id, as `<system>:<external_id>`.",
    CONCERN_EVENTS: "The subject key: a keyed-HMAC pseudonym of organisation + tenancy (or department).",
    REFERRAL_EVENTS: "The subject key: a keyed-HMAC pseudonym of organisation + tenancy (or department).",
    NOTIFICATION_EVENTS: "The envelope's `subject`: the subscription id of the delivery.",
    API_CLIENTS: "The client id.",
    REFERENCE_DATA: "Always `directory`: the topic holds one snapshot, and compaction keeps the newest.",
}
"""The Kafka key of each topic's messages."""

CHANNELS: Final = {
    CONCERN_INBOUND: (
        "Raw concerns from integrated housing systems, each in its own format, wrapped in a small "
        "envelope that names the system. intake maps them with the mapping registered for the system "
        "and de-duplicates on system + external id. Not CloudEvents."
    ),
    CONCERN_EVENTS: "Concerns reported and erased; written by intake through its transactional outbox.",
    REFERRAL_EVENTS: (
        "Referrals created and moved along their lifecycle, SLA breaches and escalations; written by routing."
    ),
    NOTIFICATION_EVENTS: "Outcomes of webhook, e-mail and feed deliveries; written by notify, for statistics.",
    API_CLIENTS: (
        "Compacted registry of API clients (token hashes only, never tokens); the latest record per "
        "client id wins, a null value (tombstone) forgets the client. Every service reads it from the "
        "beginning, without a consumer group, to authenticate bearer tokens."
    ),
    REFERENCE_DATA: (
        "Compacted snapshot of the reference directory that intake owns: housing organisations and their "
        "departments (name, municipality, tenancies, consultant, associations), recipients (name, kind, "
        "e-mail, escalation contact) and municipalities (official name, single entry, escalation contact). "
        "`version` is the SHA-256 of the content's canonical JSON. intake publishes it at start and on every "
        "change; routing, notify and stats read it from the beginning, without a consumer group, and use "
        "the newest snapshot. No personal data."
    ),
}
"""What each topic carries."""

DLQ_HEADERS: Final = {
    "dlq-reason": f"Machine code of the refusal: {', '.join(REASONS)}, or a consumer's own code (e.g. rejected).",
    "dlq-error": "Human explanation naming the fields at fault, never their values (at most 500 characters).",
    "dlq-origin-topic": "Topic the message was consumed from.",
    "dlq-origin-partition": "Partition the message was consumed from (decimal).",
    "dlq-origin-offset": "Offset of the message in that partition (decimal).",
    "dlq-consumer": "The consumer (service) that refused it.",
    "dlq-failed-at": "When it was refused (ISO 8601, UTC).",
}
"""The headers a dead letter carries besides the original ones."""

DESCRIPTION: Final = """\
Events of the concern-referral platform for Danish social housing (almene boliger).

Caretakers, resident representatives and administration staff of housing organisations, and the
organisations' own IT systems, report concerns about residents who need help: signs of dementia or
mental illness, neglect of the dwelling (mislighold), hoarding, rent arrears, neighbour conflicts and
so on. The platform refers each concern to whoever can help (the municipality's single entry point,
with the municipal function suggested; the housing organisation's housing-social consultant; or an
organised volunteer association), follows every referral's lifecycle and clock, chases and escalates
what nobody acknowledges, and tells each party what it needs to know.

## Envelope
Messages on concern-events, referral-events and notification-events are CloudEvents 1.0 events in
structured mode: one JSON object with `specversion`, `id`, `source`, `type`, `subject`, `time`,
`datacontenttype` (optionally `dataschema`) and the body in `data`. Absent optional fields are left
out. Times are RFC 3339 in UTC. Municipalities are identified by their official 4-digit code.

## Keys and order
The Kafka key of concern and referral events is the subject key, a keyed-HMAC pseudonym of the
tenancy (lejemål), so all events about one tenancy land on one partition, in order. Notification
events are keyed by subscription id.

## Privacy
Concerns touch health and social circumstances: special-category personal data (GDPR art. 9).
Events are thin: ids, department, municipality code, categories, severity, legal basis and due
times; never names, contact details or free text. Those stay encrypted in the intake service and
are fetched through its HTTP API by a recipient whose referral allows it; every read is audited.

## Delivery
At-least-once. Every consumer de-duplicates on the CloudEvents `id` and applies each event once.
A message a consumer cannot decode or apply goes to `<topic>.dlq` with its original key and bytes
and `dlq-*` headers giving the reason; the consumer carries on, and ops replay it with the CLI.

## Versioning
The `type` carries the major version (`concern.reported.v1`). A schema evolves only by adding
optional fields. Anything else (removing, renaming or retyping a field, changing its meaning,
making it required) is a breaking change and gets a new type (`concern.reported.v2`), published
alongside the old one until every consumer has moved. Integrators must ignore fields they do not
know. The platform's own consumers refuse unknown fields to catch mistakes early, so they are
upgraded before any producer sends a new optional field.
"""
