"""Accepting a concern (HTTP and inbound alike) and erasing one: durable before anyone is told."""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.intake.adapters.concern_store import ReceiptCodeTaken
from services.intake.domain.concern import NewConcern, check_report, fingerprint, new_concern
from services.intake.domain.events import concern_erased, concern_reported
from services.intake.domain.report import ConcernReport
from services.intake.domain.triage import read_hints
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import UnitOfWork
from services.intake.metrics import ACCEPT_SECONDS, CONCERNS_ACCEPTED, CONCERNS_REPLAYED, ERASURES, source_label
from shared.auth.principal import Principal
from shared.contracts.topics import CONCERN_EVENTS
from shared.contracts.vocabulary import IntakeChannel


@dataclass(frozen=True)
class Receipt:
    """What the reporter is told: the concern's id, receipt code and time; `replayed` for a repeat request."""

    concern_id: str
    receipt_code: str
    received_at: datetime
    categories: list[str]
    hints: tuple[str, ...] = ()
    replayed: bool = False


class ConcernConflict(Exception):
    """A key is reused for a different request: the Idempotency-Key header or the external ref."""

    def __init__(self, field: str, problem: str, reason: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.reason = reason


async def accept_concern(
    deps: Deps,
    report: ConcernReport,
    *,
    channel: IntakeChannel,
    principal: Principal | None = None,
    source_system: str | None = None,
    idempotency_key: str | None = None,
) -> Receipt:
    """Check and store a concern with its event in one transaction; a replay returns the first receipt."""
    now = deps.clock()
    skew = timedelta(seconds=deps.settings.observed_at_skew_s)
    department = check_report(report, deps.directory, principal=principal, now=now, skew=skew)
    request_hash = fingerprint(report, deps.fingerprint_key)
    source = source_label(channel.value, source_system)
    started = time.perf_counter()
    # Read once, here: only the codes go on the event. A replay has the same text (same request hash), so the
    # same hints (under the same lexicon).
    hints = read_hints(report.description)
    for _ in range(5):  # a receipt code collision (1 in 10^12) just draws another code
        concern = new_concern(
            report,
            department,
            now=now,
            channel=channel,
            subject_key_secret=deps.settings.subject_key_secret.get_secret_value(),
            request_hash=request_hash,
            source_system=source_system,
            reporter_client_id=principal.client_id if principal else None,
            hints=hints,
        )
        try:
            receipt = await _store(deps, concern, principal, idempotency_key)
        except ReceiptCodeTaken:
            continue
        (CONCERNS_REPLAYED if receipt.replayed else CONCERNS_ACCEPTED).labels(source).inc()
        if not receipt.replayed:
            ACCEPT_SECONDS.labels(source).observe(time.perf_counter() - started)
        return receipt
    raise RuntimeError("no free receipt code")


async def _store(deps: Deps, concern: NewConcern, principal: Principal | None, idempotency_key: str | None) -> Receipt:
    sealed = deps.sealer.seal(concern.id, concern.sealed_details())
    event = concern_reported(concern, source=deps.settings.event_source)
    categories = [c.value for c in concern.report.categories]
    fresh = Receipt(concern.id, concern.receipt_code, concern.received_at, categories, concern.hints)
    ref = concern.report.external_ref
    if idempotency_key is None and ref is None:
        # Nothing to look up first: one atomic statement is the whole transaction.
        await deps.concerns_autocommit().add(concern, sealed, event, CONCERN_EVENTS)
        return fresh
    async with deps.unit_of_work() as uow:
        if idempotency_key is not None and principal is not None:
            first = await uow.concerns.claim_idempotency_key(
                principal.client_id, idempotency_key, concern.request_hash, concern.id
            )
            if first is not None:
                first_hash, first_id = first
                if first_hash != concern.request_hash:
                    raise ConcernConflict("Idempotency-Key", "already used for a different request", "idempotency_key")
                return await _replay(uow, first_id, concern.hints)
        if await uow.concerns.add(concern, sealed, event, CONCERN_EVENTS):
            return fresh
        assert ref is not None  # noqa: S101 - only a taken external ref stores nothing
        existing = await uow.concerns.by_external_ref(ref.system, ref.id)
        same_caller = principal is None or principal.covers(
            department_id=existing.department_id if existing else None,
            organisation_id=existing.organisation_id if existing else None,
        )
        if existing is None or existing.request_hash != concern.request_hash or not same_caller:
            raise ConcernConflict("external_ref", "already used for a different concern", "external_ref")
        if idempotency_key is not None and principal is not None:
            await uow.concerns.repoint_idempotency_key(principal.client_id, idempotency_key, existing.id)
        return Receipt(
            existing.id, existing.receipt_code, existing.received_at, existing.categories, concern.hints, replayed=True
        )


async def _replay(uow: UnitOfWork, concern_id: str, hints: tuple[str, ...]) -> Receipt:
    stored = await uow.concerns.get(concern_id)
    if stored is None:  # the first request's transaction stored nothing; cannot happen as both share one
        raise RuntimeError("idempotency key without its concern")
    return Receipt(stored.id, stored.receipt_code, stored.received_at, stored.categories, hints, replayed=True)


async def erase_concern(deps: Deps, concern_id: str, principal: Principal) -> datetime | None:
    """Destroy the concern's data key and record concern.erased.v1; when it was erased, or None if unknown."""
    async with deps.unit_of_work() as uow:
        locked = await uow.concerns.lock_for_erasure(concern_id)
        if locked is None:
            return None
        subject_key, erased_at = locked
        if erased_at is not None:
            return erased_at  # erasing twice changes nothing and emits nothing
        now = deps.clock()
        await uow.concerns.shred(concern_id, now)
        erased = concern_erased(concern_id, subject_key, erased_at=now, source=deps.settings.event_source)
        await uow.outbox.add(CONCERN_EVENTS, [erased])
        await uow.audit.record(concern_id, principal, action="erasure", basis="erasure_request")
    ERASURES.inc()
    return now
