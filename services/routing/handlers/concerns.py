"""Applying concern events: referrals for each reported concern, once; erasures flag the referrals."""

import functools
import itertools
from datetime import datetime

from services.routing import metrics
from services.routing.adapters import wire
from services.routing.domain import ids
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.referral import Referral, created_event, from_plan
from services.routing.domain.repeats import REPEAT_WINDOW, Window, in_window
from services.routing.domain.routing import Unroutable
from services.routing.domain.suggestions import SUGGESTING_HINTS, Suggestion, suggest, suggested_event
from services.routing.handlers.deps import Deps
from services.routing.handlers.ports import UnitOfWork
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope, make_event
from shared.kafka.errors import PermanentError

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
        hints=frozenset(data.hints or ()),
        children_in_household=data.children_in_household,
        danger_confirmed=bool(data.danger_confirmed),
    )


async def apply_concern_events(deps: Deps, events: list[Envelope]) -> Windows:
    """Apply a batch in one transaction; returns the 90-day windows of the subjects it touched."""
    unique = list({e.id: e for e in events}.values())
    generation = deps.windows.generation if deps.windows else 0
    working: dict[str, Window] = {}  # this batch's windows, by subject key (kept in the table after the commit)
    dropped: set[str] = set()
    async with deps.unit_of_work() as uow:
        fresh, rules_version = await uow.first_deliveries([e.id for e in unique])
        touched: set[str] = set()
        created: list[Referral] = []
        suggested: list[Suggestion] = []
        # Runs of the same type, in order: an erasure takes effect between the reports around it.
        for kind, run in itertools.groupby((e.data for e in unique if e.id in fresh), key=type):
            data = list(run)
            if kind is ConcernReported:
                touched.update(d.subject_key for d in data)
                referrals, suggestions = await _route(uow, deps, data, rules_version, working, dropped)
                created += referrals
                suggested += suggestions
            elif kind is ConcernErased:
                for erased in data:
                    if key := await uow.subjects.forget(erased.concern_id):
                        touched.add(key)
                        if key in working:
                            working[key].concerns.pop(erased.concern_id, None)
                        else:
                            dropped.add(key)
                    await uow.referrals.mark_concern_erased(erased.concern_id, erased.erased_at)
        now = deps.clock.now()
        unread = sorted(touched - working.keys())
        found = await uow.subjects.windows(unread, now) if unread else {}
    if deps.windows:
        deps.windows.keep(generation, working, dropped - working.keys())
    metrics.referrals_created(created)
    metrics.SUGGESTIONS_MADE.inc(len(suggested))
    return {
        key: in_window(now, working[key].concerns.values() if key in working else found.get(key, [])) for key in touched
    }


async def _route(
    uow: UnitOfWork,
    deps: Deps,
    reported: list[ConcernReported],
    rules_version: int,
    working: dict[str, Window],
    dropped: set[str],
) -> tuple[list[Referral], list[Suggestion]]:
    version, document = await uow.rules(rules_version or None)
    routed = await _windows(uow, deps, reported, working, dropped)
    for data in reported:  # all of the run first: a concern counts the others of the run reported before it
        if data.concern_id not in routed:  # seen before: in its window already, or erased (it counts no more)
            working[data.subject_key].concerns[data.concern_id] = data.reported_at
    now = deps.clock.now()
    referrals: list[Referral] = []
    suggestions: list[Suggestion] = []
    for data in reported:
        if data.concern_id in routed:  # the same concern under another event id: never a second set of referrals
            continue
        routed.add(data.concern_id)
        # A report naming no tenancy carries its department's key: it is no repeat of the department's others.
        tenancy = data.subject_is_tenancy is not False
        facts = facts_of(data, repeated=tenancy and working[data.subject_key].is_repeat(data.reported_at))
        try:
            plans = deps.rules.decide(version, document, facts)
        except Unroutable as error:
            raise UnroutableConcern(error.reason) from None
        referrals += [from_plan(plan, facts, rules_version=version, now=now) for plan in plans]
        if facts.hints & SUGGESTING_HINTS.keys():  # the recipients a hint's category would add, for the consultant
            wider = functools.partial(deps.rules.decide, version, document)
            suggestions += suggest(facts, plans, wider, rules_version=version, now=now)
    await uow.referrals.add_created(referrals, [wire.created_record(r, deps.source) for r in referrals])
    if suggestions:
        await uow.suggestions.add_many(suggestions)
        keys = {d.concern_id: d.subject_key for d in reported}
        await uow.outbox.add([suggested_envelope(s, keys[s.concern_id], deps.source) for s in suggestions])
    return referrals, suggestions


async def _windows(
    uow: UnitOfWork,
    deps: Deps,
    reported: list[ConcernReported],
    working: dict[str, Window],
    dropped: set[str],
) -> set[str]:
    """Fill `working` with a window reaching 90 days back from each subject's earliest concern of the run.

    From the batch so far, else from the repeat-windows table (the fast path), else from PostgreSQL (also for
    subjects with an erasure earlier in the batch: the table does not know of it yet). Records the run, and
    returns the run's concerns that were recorded before (routed already, under another event id).
    """
    since: dict[str, datetime] = {}
    for data in reported:
        key = data.subject_key
        since[key] = min(since.get(key, data.reported_at), data.reported_at)
    needed = {k: at for k, at in since.items() if k not in working or not working[k].covers(at)}
    if deps.windows and (cacheable := {k: at for k, at in needed.items() if k not in dropped}):
        hits = deps.windows.covering(cacheable, cacheable)
        working.update(hits)
        needed = {k: at for k, at in needed.items() if k not in hits}
    # The run's concerns are recorded in PostgreSQL (the durable truth) in the same round trip as the misses
    # are read; the read sees the table as before the statement, so the run's own concerns are added after.
    after = min(needed.values(), default=min(since.values())) - REPEAT_WINDOW
    found, routed = await uow.subjects.record_and_read(
        [(d.subject_key, d.concern_id, d.reported_at) for d in reported], sorted(needed), after
    )
    for key in needed:
        working[key] = Window(after, found.get(key, {}))
    return routed


def suggested_envelope(suggestion: Suggestion, subject_key: str, source: str) -> Envelope:
    """referral.suggested.v1 with a deterministic event id (a redelivered concern suggests once), keyed by the
    concern's subject as its referrals' events are."""
    return make_event(
        suggested_event(suggestion),
        source=source,
        subject=subject_key,
        id=ids.uuid5_text(f"{suggestion.suggestion_id}|suggested"),
        time=suggestion.created_at,
    )


def created_envelope(referral: Referral, source: str) -> Envelope:
    """referral.created.v1 with a deterministic event id, keyed by the subject (the contract's own path; a
    flood of concerns takes wire.created_record, which writes the same bytes)."""
    return make_event(
        created_event(referral),
        source=source,
        subject=referral.subject_key,
        id=ids.event_id(referral.referral_id, "created"),
        time=referral.created_at,
    )
