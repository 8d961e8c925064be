"""Test helpers for routing: concern events as intake writes them, and reading referral events as committed."""

import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope, decode, encode, make_event
from shared.kafka.config import client_config, partitions_of, producer_config

INTAKE = "/services/intake"
HOLBAEK = {"department_id": "holbaek-1", "municipality_code": "0316"}
HOENG = {"department_id": "hoeng-1", "municipality_code": "0326"}
KALUNDBORG = {"department_id": "kalundborg-1", "municipality_code": "0326"}


def subject() -> str:
    """A fresh subject key (tenancy pseudonym)."""
    return "sk_" + uuid.uuid4().hex[:32]


def concern_event(
    *,
    categories: tuple[str, ...] = ("noise",),
    severity: str = "medium",
    consent: str = "not_asked",
    legal_basis: str | None = None,
    place: dict[str, str] | None = None,
    subject_key: str | None = None,
    reported_at: datetime | None = None,
    concern_id: str | None = None,
    subject_is_tenancy: bool | None = None,
    hints: tuple[str, ...] | None = None,
    children_in_household: str | None = None,
    danger_confirmed: bool | None = None,
) -> Envelope:
    """A concern.reported.v1 event as intake emits it (fictional, no personal data)."""
    at = reported_at or datetime.now(UTC)
    key = subject_key or subject()
    data = ConcernReported(
        concern_id=concern_id or str(uuid.uuid4()),
        organisation_id="org-demo",
        subject_key=key,
        **(place or HOLBAEK),
        categories=categories,
        severity=severity,
        consent=consent,
        legal_basis=legal_basis,
        observed_at=at,
        reported_at=at,
        reporter_role="caretaker",
        channel="http",
        has_reporter_contact=False,
        has_resident_details=True,
        subject_is_tenancy=subject_is_tenancy,
        hints=hints,
        children_in_household=children_in_household,
        danger_confirmed=danger_confirmed,
    )
    return make_event(data, source=INTAKE, subject=key, time=at)


def erased_event(reported: Envelope) -> Envelope:
    """concern.erased.v1 for a reported concern."""
    data = ConcernErased(concern_id=reported.data.concern_id, subject_key=reported.subject, erased_at=datetime.now(UTC))
    return make_event(data, source=INTAKE, subject=reported.subject)


async def publish(bootstrap: str, topic: str, events: list[Envelope]) -> None:
    """Send the events keyed by subject and wait for the broker's acknowledgements."""
    producer = AIOKafkaProducer(**producer_config(bootstrap, "routing-tests"))
    await producer.start()
    try:
        futures = [await producer.send(topic, encode(e), key=e.subject.encode()) for e in events]
        for future in futures:
            await future
    finally:
        await producer.stop()


async def read_committed(bootstrap: str, topic: str, *, expected: int, within: float = 60.0) -> list[Envelope]:
    """Every committed event of `topic` from the start, once at least `expected` arrived (then a short settle)."""
    consumer = AIOKafkaConsumer(**client_config(bootstrap), enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    events: list[Envelope] = []
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + within
        settle_until = None
        while True:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                events.extend(decode(r.value) for r in batch)
            now = time.monotonic()
            if len(events) >= expected and settle_until is None:
                settle_until = now + 1.5  # anything extra (a duplicate) would show up by then
            if settle_until is not None and now > settle_until:
                return events
            if now > deadline:
                raise AssertionError(f"{len(events)} of {expected} events on {topic} within {within} s")
    finally:
        await consumer.stop()
