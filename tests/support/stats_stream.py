"""A seeded, mixed stream of fictional events for the stats tests, with the ground truth it implies.

The truth is computed from the generator's own world (who reported what, who answered when), by the
definitions in the stats API's documentation, never from the events the service reads.
"""

import json
import random
import statistics
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer

from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope, encode, make_event
from shared.contracts.notifications import NotificationDelivered, NotificationFailed
from shared.contracts.referrals import ReferralCreated, ReferralEscalated, ReferralSlaBreached, ReferralStatusChanged
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.contracts.vocabulary import Category
from tests.support.reference import owner_directory

DEPARTMENTS = {d.id: d.municipality_code for _, d in owner_directory().departments()}
"""Department -> municipality, from intake's reference directory (the one source)."""
# holbaek-2 (186 tenancies in intake's reference data) reports far more than its size: the hotspot.
WEIGHTS = {
    "holbaek-1": 5,
    "holbaek-2": 9,
    "hoeng-1": 1,
    "kalundborg-1": 3,
    "roskilde-1": 5,
    "odense-1": 4,
    "aarhus-1": 5,
}
OUTCOMES = [
    "support_established",
    "eviction_avoided",
    "dwelling_restored",
    "resident_declined_help",
    "no_action_needed",
]
TZ = ZoneInfo("Europe/Copenhagen")
ROUTING, INTAKE, NOTIFY = "/services/routing", "/services/intake", "/services/notify"


def p90(values: list[float]) -> float:
    """Linear-interpolated 90th percentile (PostgreSQL percentile_cont)."""
    ordered = sorted(values)
    position = 0.9 * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Referral:
    referral_id: str
    concern_id: str
    target: str
    municipality_code: str
    department_id: str
    created_at: datetime
    status: str = "requested"
    acknowledged_at: datetime | None = None
    completed_at: datetime | None = None
    outcome: str | None = None
    breaches: int = 0
    escalations: int = 0


@dataclass
class Stream:
    """Events per topic (in production order, duplicates included) and the world they describe."""

    start: datetime
    messages: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=lambda: defaultdict(list))
    concerns: dict[str, dict] = field(default_factory=dict)
    referrals: dict[str, Referral] = field(default_factory=dict)
    deliveries: dict[str, dict] = field(default_factory=dict)
    distinct_events: int = 0

    def emit(self, topic: str, envelope: Envelope, key: str) -> None:
        self.messages[topic].append((key.encode(), encode(envelope)))
        self.distinct_events += 1

    @property
    def total_messages(self) -> int:
        return sum(len(m) for m in self.messages.values())

    async def produce(self, producer: AIOKafkaProducer, prefix: str) -> None:
        """Send every message to the topics under `prefix`, in order per key."""
        for topic, messages in self.messages.items():
            for key, value in messages:
                await producer.send(prefix + topic, value, key=key)
        await producer.flush()

    # --- ground truth -------------------------------------------------------------------------------
    def concern_rows(self, municipalities: set[str] | None = None, departments: set[str] | None = None) -> list[dict]:
        return [
            c
            for c in self.concerns.values()
            if (municipalities is None or c["municipality_code"] in municipalities)
            and (departments is None or c["department_id"] in departments)
        ]

    def truth(self, municipalities: set[str] | None = None, departments: set[str] | None = None) -> dict:
        """The numbers the overview must show for the whole stream, within a scope."""
        rows = self.concern_rows(municipalities, departments)
        repeats = self.repeat_concerns()
        refs = [
            r
            for r in self.referrals.values()
            if (municipalities is None or r.municipality_code in municipalities)
            and (departments is None or r.department_id in departments)
        ]
        outcome_concerns: dict[str, set[str]] = defaultdict(set)
        for r in refs:
            if r.outcome:
                outcome_concerns[r.outcome].add(r.concern_id)
        return {
            "total": len(rows),
            "by_department": Counter(c["department_id"] for c in rows),
            "by_municipality": Counter(c["municipality_code"] for c in rows),
            "by_severity": Counter(c["severity"] for c in rows),
            "by_category": Counter(cat for c in rows for cat in c["categories"]),
            "by_day": Counter(c["day"] for c in rows),
            "repeat_concerns": sum(1 for c in rows if c["concern_id"] in repeats),
            "repeat_tenancies": len({c["subject_key"] for c in rows if c["concern_id"] in repeats}),
            "referrals": Counter((r.target, r.status) for r in refs),
            "breaches": sum(r.breaches for r in refs),
            "escalations": sum(r.escalations for r in refs),
            "outcomes": {o: len(ids) for o, ids in outcome_concerns.items()},
        }

    def repeat_concerns(self) -> set[str]:
        """Concern ids that are the 3rd or later of their (non-erased) tenancy within 90 days."""
        by_tenancy: dict[str, list[dict]] = defaultdict(list)
        for c in self.concerns.values():
            if not c["erased"]:
                by_tenancy[c["subject_key"]].append(c)
        found = set()
        for items in by_tenancy.values():
            for c in items:
                window = [
                    o for o in items if c["reported_at"] - timedelta(days=90) <= o["reported_at"] <= c["reported_at"]
                ]
                if len(window) >= 3:
                    found.add(c["concern_id"])
        return found

    def response_truth(self, key: str) -> dict[str, dict[str, float | None]]:
        """Median and p90 hours to acknowledgement and completion, by `municipality_code` or `target`."""
        groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"ack": [], "done": []})
        for r in self.referrals.values():
            group = groups[getattr(r, key)]
            if r.acknowledged_at:
                group["ack"].append((r.acknowledged_at - r.created_at).total_seconds() / 3600)
            if r.completed_at:
                group["done"].append((r.completed_at - r.created_at).total_seconds() / 3600)
        return {
            name: {
                "ack_median": statistics.median(g["ack"]) if g["ack"] else None,
                "ack_p90": p90(g["ack"]) if g["ack"] else None,
                "done_median": statistics.median(g["done"]) if g["done"] else None,
                "done_p90": p90(g["done"]) if g["done"] else None,
            }
            for name, g in groups.items()
        }


def generate(seed: int, concerns: int, *, days: int = 50, now: datetime | None = None) -> Stream:
    """A stream of `concerns` concerns over `days` days with their referrals, answers, clocks and notifications."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    stream = Stream(start=now - timedelta(days=days))
    ids = lambda label: str(uuid.UUID(int=rng.getrandbits(128)))  # noqa: E731
    tenancies = {d: [f"sk_{seed}_{d}_{i}" for i in range(max(4, concerns // 20))] for d in DEPARTMENTS}
    departments = list(WEIGHTS)
    events: list[tuple[datetime, str, Envelope, str]] = []
    for _ in range(concerns):
        department = rng.choices(departments, weights=[WEIGHTS[d] for d in departments])[0]
        municipality = DEPARTMENTS[department]
        key = rng.choice(tenancies[department][: rng.choice([3, len(tenancies[department])])])
        reported_at = stream.start + timedelta(seconds=rng.randrange(int((days - 16) * 86400)))
        categories = tuple(rng.sample(list(Category), rng.choice([1, 1, 2, 3])))
        severity = rng.choice(["low", "medium", "medium", "high", "acute"])
        concern_id = ids("concern")
        stream.concerns[concern_id] = {
            "concern_id": concern_id,
            "department_id": department,
            "municipality_code": municipality,
            "subject_key": key,
            "severity": severity,
            "categories": [str(c) for c in categories],
            "reported_at": reported_at,
            "day": reported_at.astimezone(TZ).date().isoformat(),
            "erased": False,
        }
        reported = ConcernReported(
            concern_id=concern_id, organisation_id="org-demo", department_id=department,
            municipality_code=municipality, subject_key=key, categories=categories, severity=severity,
            consent=rng.choice(["given", "refused", "not_asked"]), observed_at=reported_at - timedelta(hours=5),
            reported_at=reported_at, reporter_role="caretaker", channel="http", has_reporter_contact=False,
            has_resident_details=False,
        )  # fmt: skip
        events.append(
            (
                reported_at,
                CONCERN_EVENTS,
                make_event(reported, source=INTAKE, subject=key, id=ids("e"), time=reported_at),
                key,
            )
        )
        for target in rng.sample(["municipality", "consultant", "association"], rng.choice([1, 1, 2])):
            _referral(rng, stream, events, ids, reported, target, now)
    _erase_one(rng, stream, events, ids)
    events.sort(key=lambda e: e[0])
    for _, topic, envelope, key in events:
        stream.emit(topic, envelope, key)
        if rng.random() < 0.05:  # at-least-once: the same event again, same id
            stream.messages[topic].append((key.encode(), encode(envelope)))
    # The same concern published again under a new event id (an outbox relay re-sent it): counts once.
    first_key, first_value = stream.messages[CONCERN_EVENTS][0]
    again = json.loads(first_value)
    again["id"] = ids("e")
    stream.messages[CONCERN_EVENTS].append((first_key, json.dumps(again).encode()))
    stream.distinct_events += 1
    # Garbage that live dead-letters and the rebuild skips.
    stream.messages[CONCERN_EVENTS].append((b"k", b"{not json"))
    stream.messages[REFERRAL_EVENTS].append((b"k", json.dumps({"specversion": "1.0", "type": "x.y.v1"}).encode()))
    return stream


def _referral(rng, stream, events, ids, concern: ConcernReported, target: str, now: datetime) -> None:  # noqa: ANN001, C901
    referral_id = ids("referral")
    created_at = concern.reported_at + timedelta(seconds=2)
    recipient = {"municipality": f"municipality-{concern.municipality_code}", "consultant": "consultant-holbaek",
                 "association": "association-holbaek-naboskab"}[target]  # fmt: skip
    referral = Referral(
        referral_id, concern.concern_id, target, concern.municipality_code, concern.department_id, created_at
    )
    stream.referrals[referral_id] = referral
    key = concern.subject_key
    place = {"department_id": concern.department_id, "municipality_code": concern.municipality_code}
    due = created_at + timedelta(days=1)
    created = ReferralCreated(
        referral_id=referral_id, concern_id=concern.concern_id, subject_key=key, target=target, recipient_id=recipient,
        organisation_id="org-demo", **place, categories=concern.categories, severity=concern.severity, urgent=False,
        repeated=False, legal_basis="consent", disclosure="full", task="act", rules_version=1, rule_id="default",
        ack_due_at=due, created_at=created_at,
    )  # fmt: skip
    events.append(
        (
            created_at,
            REFERRAL_EVENTS,
            make_event(created, source=ROUTING, subject=key, id=ids("e"), time=created_at),
            key,
        )
    )
    role = {"municipality": "municipality", "consultant": "consultant", "association": "association"}[target]

    def change(frm: str, to: str, at: datetime, by: str = role, **extra) -> str:  # noqa: ANN003
        data = ReferralStatusChanged(
            referral_id=referral_id, concern_id=concern.concern_id, target=target, **place,
            from_status=frm, to_status=to, changed_by_role=by, changed_at=at, **extra,
        )  # fmt: skip
        events.append((at, REFERRAL_EVENTS, make_event(data, source=ROUTING, subject=key, id=ids("e"), time=at), key))
        referral.status = to
        return to

    clock = {"referral_id": referral_id, "concern_id": concern.concern_id, "target": target, "recipient_id": recipient,
             "severity": concern.severity, "ack_due_at": due, **place}  # fmt: skip
    scenario = rng.random()
    if rng.random() < 0.3:  # a system move (e.g. delivered) is not an answer
        change("requested", "received", created_at + timedelta(minutes=1), by="system")
    if scenario < 0.25:  # never answered: breached, maybe escalated
        events.append(
            (
                due,
                REFERRAL_EVENTS,
                make_event(
                    ReferralSlaBreached(**clock, breached_at=due), source=ROUTING, subject=key, id=ids("e"), time=due
                ),
                key,
            )
        )
        referral.breaches += 1
        if rng.random() < 0.5:
            at = due + timedelta(days=1)
            data = ReferralEscalated(**clock, escalation_contact_id=f"escalation-{recipient}", escalated_at=at)
            events.append(
                (at, REFERRAL_EVENTS, make_event(data, source=ROUTING, subject=key, id=ids("e"), time=at), key)
            )
            referral.escalations += 1
        return
    answered = created_at + timedelta(minutes=rng.randrange(20, 60 * 90))
    referral.acknowledged_at = answered
    if answered > due:
        events.append(
            (
                due,
                REFERRAL_EVENTS,
                make_event(
                    ReferralSlaBreached(**clock, breached_at=due), source=ROUTING, subject=key, id=ids("e"), time=due
                ),
                key,
            )
        )
        referral.breaches += 1
    if scenario < 0.35:
        change("requested", "rejected", answered, reason="capacity")
        return
    change("requested", "accepted", answered)
    change("accepted", "in_progress", answered + timedelta(hours=2))
    if scenario < 0.8:
        done = answered + timedelta(hours=rng.randrange(24, 24 * 10))
        outcome = rng.choice(OUTCOMES)
        change("in_progress", "completed", done, outcome=outcome)
        referral.completed_at, referral.outcome = done, outcome
    _notify(rng, stream, events, ids, referral, created_at)


def _notify(rng, stream, events, ids, referral: Referral, at: datetime) -> None:  # noqa: ANN001
    delivery_id = ids("delivery")
    webhook = referral.target == "municipality"
    subscription = ids("subscription") if webhook else None
    base = {"delivery_id": delivery_id, "channel": "webhook" if webhook else "email", "subscription_id": subscription,
            "event_id": ids("x"), "event_type": "referral.created.v1", "referral_id": referral.referral_id,
            "municipality_code": referral.municipality_code if webhook else None}  # fmt: skip
    key = subscription or delivery_id
    fate = rng.random()
    state = "delivered"
    if fate < 0.3:
        failed_at = at + timedelta(seconds=5)
        final = fate < 0.1
        data = NotificationFailed(**base, attempts=1, reason="http_5xx", final=final, failed_at=failed_at)
        events.append(
            (
                failed_at,
                NOTIFICATION_EVENTS,
                make_event(data, source=NOTIFY, subject=key, id=ids("e"), time=failed_at),
                key,
            )
        )
        if final:
            state = "failed"
    if state == "delivered":
        delivered_at = at + timedelta(seconds=40)
        data = NotificationDelivered(
            **base, attempts=2 if fate < 0.3 else 1, latency_ms=40_000, delivered_at=delivered_at
        )
        events.append(
            (
                delivered_at,
                NOTIFICATION_EVENTS,
                make_event(data, source=NOTIFY, subject=key, id=ids("e"), time=delivered_at),
                key,
            )
        )
    stream.deliveries[delivery_id] = {
        "channel": base["channel"],
        "state": state,
        "municipality_code": base["municipality_code"],
    }


def _erase_one(rng, stream, events, ids) -> None:  # noqa: ANN001
    """Erase one concern of a tenancy with repeats, so the erasure changes what counts as repeated."""
    repeated = stream.repeat_concerns()
    victim = stream.concerns[sorted(repeated)[0]] if repeated else next(iter(stream.concerns.values()))
    at = victim["reported_at"] + timedelta(days=3)
    data = ConcernErased(concern_id=victim["concern_id"], subject_key=victim["subject_key"], erased_at=at)
    events.append(
        (
            at,
            CONCERN_EVENTS,
            make_event(data, source=INTAKE, subject=victim["subject_key"], id=ids("e"), time=at),
            victim["subject_key"],
        )
    )
    victim["erased"] = True
