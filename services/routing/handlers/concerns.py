"""Applying concern events: referrals for each reported concern, once; erasures flag the referrals."""

import itertools
from datetime import datetime

import asyncpg

from services.routing import metrics
from services.routing.adapters import outbox, referral_store, subjects
from services.routing.domain import ids
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.referral import Referral, created_event, from_plan
from services.routing.domain.repeats import in_window, is_repeat
from services.routing.domain.routing import Unroutable, decide
from services.routing.handlers.deps import Deps
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope, make_event
from shared.kafka.processing import PermanentError

Windows = dict[str, list[datetime]]


class UnroutableConcern(PermanentError):
    """The rules in force name no recipient for the concern's department or municipality."""

    def __init__(self, reason: str):
        super().__init__(f"cannot route: {reason}")
        self.reason = reason


def facts_of(data: ConcernReported, *, repeated: bool) -> ConcernFacts:
    """The routing facts of a concern.reported.v1 event."""
    return ConcernFacts(
        concern_id=data.concern_id,
        organisation_id=data.organisation_id,
        department_id=data.department_id,
        municipality_code=data.municipality_code,
        subject_key=data.subject_key,
        categories=frozenset(data.categories),
        severity=data.severity,
        consent=data.consent,
        legal_basis=data.legal_basis,
        reported_at=data.reported_at,
        repeated=repeated,
    )


async def _first_deliveries(conn: asyncpg.Connection, consumer: str, event_ids: list[str]) -> set[str]:
    """The shared inbox, for a batch: the ids not applied before (recorded now, committed with the effect)."""
    rows = await conn.fetch(
        "INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[]) "
        "ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        event_ids,
    )
    return {r["event_id"] for r in rows}


async def apply_concern_events(deps: Deps, events: list[Envelope]) -> Windows:
    """Apply a batch in one transaction; returns the 90-day windows of the subjects it touched."""
    unique = list({e.id: e for e in events}.values())
    async with deps.pool.acquire() as conn, conn.transaction():
        fresh = await _first_deliveries(conn, deps.consumer, [e.id for e in unique])
        touched: set[str] = set()
        created: list[Referral] = []
        # Runs of the same type, in order: an erasure takes effect between the reports around it.
        for kind, run in itertools.groupby((e.data for e in unique if e.id in fresh), key=type):
            data = list(run)
            if kind is ConcernReported:
                touched.update(d.subject_key for d in data)
                created += await _route(conn, deps, data)
            elif kind is ConcernErased:
                for erased in data:
                    if await subjects.forget(conn, erased.concern_id):
                        touched.add(erased.subject_key)
                    await referral_store.mark_concern_erased(conn, erased.concern_id, erased.erased_at)
        now = deps.clock.now()
        found = await subjects.windows(conn, sorted(touched), now) if touched else {}
    metrics.referrals_created(created)
    return {key: in_window(now, found.get(key, [])) for key in touched}


async def _route(conn: asyncpg.Connection, deps: Deps, reported: list[ConcernReported]) -> list[Referral]:
    version, document = await deps.rules.get(conn)
    await subjects.record(conn, [(d.subject_key, d.concern_id, d.reported_at) for d in reported])
    since = min(d.reported_at for d in reported)
    found = await subjects.windows(conn, sorted({d.subject_key for d in reported}), since)
    now = deps.clock.now()
    referrals: list[Referral] = []
    for data in reported:
        facts = facts_of(data, repeated=is_repeat(data.reported_at, found.get(data.subject_key, [])))
        try:
            plans = decide(facts, document)
        except Unroutable as error:
            raise UnroutableConcern(error.reason) from None
        referrals += [from_plan(plan, facts, rules_version=version, now=now) for plan in plans]
    await referral_store.insert_many(conn, referrals)
    await outbox.enqueue(conn, deps.referral_topic, [created_envelope(r, deps.source) for r in referrals])
    return referrals


def created_envelope(referral: Referral, source: str) -> Envelope:
    """referral.created.v1 with a deterministic event id, keyed by the subject."""
    return make_event(
        created_event(referral),
        source=source,
        subject=referral.subject_key,
        id=ids.event_id(referral.referral_id, "created"),
        time=referral.created_at,
    )
