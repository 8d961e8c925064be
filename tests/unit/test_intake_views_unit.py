"""intake's read side (who sees what of a concern, and the audit of every detail read) and erasure through the
in-memory unit of work: no PostgreSQL."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.adapters.concern_store import StoredConcern
from services.intake.adapters.sealing import Sealer
from services.intake.domain.directory import Directory
from services.intake.handlers import concerns, lookups, views
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import InMemoryUnitOfWork
from services.intake.handlers.referrals import on_referral_created, on_referral_status_changed
from shared.auth.principal import Principal, Role
from shared.contracts.examples import example_events
from shared.contracts.topics import CONCERN_EVENTS
from tests.support.intake_harness import intake_settings

pytestmark = pytest.mark.unit
T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
HOLBAEK = Principal("cli_holbaek", Role.MUNICIPALITY, municipality_code="0316")
KALUNDBORG = Principal("cli_kalundborg", Role.MUNICIPALITY, municipality_code="0326")
REPORTER = Principal("cli_reporter", Role.REPORTER, organisation_id="org-lejerbo", department_ids=frozenset())
OTHER_REPORTER = Principal("cli_other", Role.REPORTER, organisation_id="org-lejerbo")
ADMIN = Principal("cli_admin", Role.ADMIN)


def fake_deps() -> tuple[Deps, InMemoryUnitOfWork]:
    uow = InMemoryUnitOfWork()
    settings = intake_settings("postgresql://nowhere/none", "127.0.0.1:1", "unit.")
    deps = Deps(settings, None, Sealer(settings.master_key_bytes), Directory(), {}, {}, uow=uow)  # type: ignore[arg-type]
    return deps, uow


def stored(deps: Deps, concern_id: str, *, receipt_code: str = "K7WX3MPQ", **changes: Any) -> StoredConcern:
    """A concern as intake's accept stores it, its details sealed with the service's key."""
    details = {
        "description": "Fiktiv: lugt fra lejligheden",
        "tenancy_id": "17-0042",
        "reporter": {"name": "Fiktiv Vicevært", "contact": "vicevaert@example.org",
                     "contact_channel": "email", "contact_address": "vicevaert@example.org"},
        "resident": None,
    }  # fmt: skip
    sealed = deps.sealer.seal(concern_id, details)
    fields: dict[str, Any] = {
        "id": concern_id, "receipt_code": receipt_code, "organisation_id": "org-lejerbo",
        "department_id": "dep-0316-017", "municipality_code": "0316", "subject_key": "sk_12345678",
        "categories": ["odour"],
        "severity": "medium", "consent": "given", "legal_basis": "consent", "observed_at": T0, "received_at": T0,
        "reporter_role": "caretaker", "channel": "http", "source_system": None, "reporter_client_id": "cli_reporter",
        "request_hash": "h", "has_reporter_contact": True, "has_resident_details": False,
        "sealed": sealed.ciphertext, "erased_at": None, "wrapped_key": sealed.wrapped_key,
    }  # fmt: skip
    return StoredConcern(**(fields | changes))


async def referred(deps: Deps, uow: InMemoryUnitOfWork) -> StoredConcern:
    """The example concern, stored, with its referral to Holbæk's single entry (statutory duty, full disclosure)."""
    created = next(e for e in example_events() if e.type == "referral.created.v1")
    concern = stored(deps, created.data.concern_id)
    uow.concerns.store(concern)
    await on_referral_created(deps, created)
    return concern


async def test_the_referred_municipality_sees_the_details_and_the_read_is_audited() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)

    view = await views.view_concern(deps, concern.id, HOLBAEK)

    assert view is not None and view.details is not None
    assert view.details.description == "Fiktiv: lugt fra lejligheden"
    assert view.receipt_code is None  # recipients identify a case by its referral
    assert [(e.client_id, e.action, e.basis) for e in await uow.audit.trail(concern.id)] == [
        ("cli_holbaek", "read_details", "statutory_duty")
    ]


async def test_a_municipality_without_a_referral_does_not_learn_the_concern_exists() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)

    assert await views.view_concern(deps, concern.id, KALUNDBORG) is None
    assert await uow.audit.trail(concern.id) == []


async def test_a_rejected_referral_no_longer_opens_the_details() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)
    completed = next(e for e in example_events() if e.type == "referral.status_changed.v1")
    (referral,) = await uow.referrals.of_concern(concern.id)
    data = completed.data.model_dump() | {
        "referral_id": referral.referral_id, "concern_id": concern.id, "from_status": "requested",
        "to_status": "rejected", "outcome": None, "reason": "capacity",
        "changed_at": referral.created_at + timedelta(days=1),
    }  # fmt: skip
    rejected = type(completed.data).model_validate(data)
    await on_referral_status_changed(deps, completed.model_copy(update={"id": "evt-rejected", "data": rejected}))

    view = await views.view_concern(deps, concern.id, HOLBAEK)

    assert view is not None and view.details is None  # still its case to see, no longer its details
    assert await uow.audit.trail(concern.id) == []


async def test_details_never_leave_when_their_audit_row_cannot_be_written() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)

    async def broken(*_: Any, **__: Any) -> None:
        raise ConnectionError("audit_log unavailable")

    uow.audit.record = broken  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await views.view_concern(deps, concern.id, HOLBAEK)


async def test_the_reporter_finds_its_own_concern_by_receipt_code_and_another_reporter_does_not() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)

    mine = await lookups.view_by_receipt_code(deps, concern.receipt_code, REPORTER)
    theirs = await lookups.view_by_receipt_code(deps, concern.receipt_code, OTHER_REPORTER)

    assert mine is not None and mine.receipt_code == concern.receipt_code
    assert theirs is None


async def test_failed_receipt_code_guesses_run_out_and_are_then_refused() -> None:
    deps, uow = fake_deps()
    await referred(deps, uow)
    burst = deps.settings.receipt_lookup_failures_burst

    for _ in range(int(burst)):
        assert await lookups.view_by_receipt_code(deps, "ZZZZ9999", OTHER_REPORTER) is None
    with pytest.raises(lookups.TooManyGuesses):
        await lookups.view_by_receipt_code(deps, "ZZZZ9999", OTHER_REPORTER)


async def test_the_reporters_contact_is_read_for_receipts_and_audited() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)

    contact = await views.reporter_contact(deps, concern.id, ADMIN)
    trail = await views.audit_entries(deps, concern.id)

    assert contact is not None and (contact.channel, contact.address) == ("email", "vicevaert@example.org")
    assert trail is not None and [e.action for e in trail] == ["read_reporter_contact"]
    assert await views.audit_entries(deps, "00000000-0000-0000-0000-000000000000") is None


async def test_a_reporters_list_holds_its_own_concerns_newest_first_with_their_referral_statuses() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)
    newer = stored(
        deps, "11111111-1111-1111-1111-111111111111", receipt_code="B2B2C3C3", received_at=T0 + timedelta(hours=1)
    )
    someone_elses = stored(deps, "22222222-2222-2222-2222-222222222222", receipt_code="D4D4E5E5",
                           reporter_client_id="cli_other")  # fmt: skip
    uow.concerns.store(newer)
    uow.concerns.store(someone_elses)

    page = await lookups.list_concerns(deps, REPORTER, external_ref=None, limit=1, offset=0)
    rest = await lookups.list_concerns(deps, REPORTER, external_ref=None, limit=1, offset=1)

    assert [(c.id, c.referral_statuses) for c in page.items] == [(newer.id, [])]
    assert page.next_offset == 1
    assert [(c.id, c.referral_statuses, c.status) for c in rest.items] == [(concern.id, ["requested"], "referred")]
    assert rest.next_offset is None


async def test_erasure_shreds_the_details_once_with_its_event_and_audit_row() -> None:
    deps, uow = fake_deps()
    concern = await referred(deps, uow)

    erased_at = await concerns.erase_concern(deps, concern.id, ADMIN)
    again = await concerns.erase_concern(deps, concern.id, ADMIN)
    view = await views.view_concern(deps, concern.id, HOLBAEK)

    assert erased_at is not None and again == erased_at  # erasing twice changes nothing
    assert [(topic, event.type, event.data.concern_id) for topic, event in uow.tables.outbox] == [
        (CONCERN_EVENTS, "concern.erased.v1", concern.id)
    ]
    assert [e.action for e in await uow.audit.trail(concern.id)] == ["erasure"]
    assert view is not None and (view.status, view.disclosure, view.details) == ("erased", "erased", None)
    assert await concerns.erase_concern(deps, "00000000-0000-0000-0000-000000000000", ADMIN) is None
