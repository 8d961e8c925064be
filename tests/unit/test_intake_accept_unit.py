"""intake's accept_concern through the in-memory unit of work: stored with its sealed details and event at once,
Idempotency-Key and external-ref replays and conflicts, a receipt-code collision drawing another code, and a
refused or conflicting request storing nothing. No PostgreSQL."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.adapters.sealing import Sealer
from services.intake.domain.concern import ConcernRefused
from services.intake.domain.directory import Department, Directory
from services.intake.domain.report import ConcernReport
from services.intake.handlers import concerns
from services.intake.handlers.concerns import ConcernConflict, accept_concern
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import InMemoryUnitOfWork
from shared.auth.principal import Principal, Role
from shared.contracts.topics import CONCERN_EVENTS
from shared.contracts.vocabulary import IntakeChannel
from tests.support.intake_harness import concern_body, intake_settings

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
HOLBAEK = Department("holbaek-1", "org-demo", "Ladegårdsparken", "0316", 412)
REPORTER = Principal("cli_reporter", Role.REPORTER, organisation_id="org-demo")
OTHER = Principal("cli_other", Role.REPORTER, organisation_id="org-other")
HTTP = IntakeChannel.HTTP


def fake_deps() -> tuple[Deps, InMemoryUnitOfWork]:
    uow = InMemoryUnitOfWork()
    settings = intake_settings("postgresql://nowhere/none", "127.0.0.1:1", "unit.")
    directory = Directory()
    directory.replace([HOLBAEK])
    deps = Deps(settings, None, Sealer(settings.master_key_bytes), directory, {}, {}, clock=lambda: NOW, uow=uow)  # type: ignore[arg-type]
    return deps, uow


def report(**body: Any) -> ConcernReport:
    return ConcernReport.model_validate(concern_body(observed_at=(NOW - timedelta(hours=2)).isoformat(), **body))


async def test_a_concern_is_stored_sealed_with_its_event_in_one_go() -> None:
    deps, uow = fake_deps()

    receipt = await accept_concern(deps, report(tenancy_id="101-2tv"), channel=HTTP, principal=REPORTER)

    stored = uow.tables.concerns[receipt.concern_id]
    assert (stored.receipt_code, stored.received_at, stored.reporter_client_id) == (
        receipt.receipt_code, NOW, "cli_reporter"
    )  # fmt: skip
    assert deps.sealer.open(stored.id, stored.wrapped_key, stored.sealed)["tenancy_id"] == "101-2tv"
    assert [(topic, event.type, event.data.concern_id) for topic, event in uow.tables.outbox] == [
        (CONCERN_EVENTS, "concern.reported.v1", receipt.concern_id)
    ]
    assert b"101-2tv" not in uow.tables.outbox[0][1].model_dump_json().encode()  # the tenancy only as a pseudonym
    assert uow.commits == 0  # one statement, no unit around it
    assert not receipt.replayed


async def test_the_same_idempotency_key_and_request_replays_the_first_receipt_and_stores_nothing_more() -> None:
    deps, uow = fake_deps()
    body = report(tenancy_id="101-2tv")

    first = await accept_concern(deps, body, channel=HTTP, principal=REPORTER, idempotency_key="k-1")
    again = await accept_concern(deps, body, channel=HTTP, principal=REPORTER, idempotency_key="k-1")

    assert (again.concern_id, again.receipt_code, again.replayed) == (first.concern_id, first.receipt_code, True)
    assert len(uow.tables.concerns) == len(uow.tables.outbox) == 1
    assert uow.tables.idempotency_keys == {("cli_reporter", "k-1"): (first_hash(uow), first.concern_id)}


def first_hash(uow: InMemoryUnitOfWork) -> str:
    (stored,) = uow.tables.concerns.values()
    return stored.request_hash


async def test_an_idempotency_key_reused_for_another_request_is_a_conflict_and_changes_nothing() -> None:
    deps, uow = fake_deps()
    await accept_concern(deps, report(tenancy_id="101-2tv"), channel=HTTP, principal=REPORTER, idempotency_key="k")
    before = (dict(uow.tables.concerns), list(uow.tables.outbox), dict(uow.tables.idempotency_keys))

    with pytest.raises(ConcernConflict) as raised:
        await accept_concern(deps, report(tenancy_id="other"), channel=HTTP, principal=REPORTER, idempotency_key="k")

    assert raised.value.field == "Idempotency-Key" and raised.value.reason == "idempotency_key"
    assert (uow.tables.concerns, uow.tables.outbox, uow.tables.idempotency_keys) == before
    # Another client's key of the same name is its own.
    other = await accept_concern(deps, report(tenancy_id="other"), channel=HTTP, principal=REPORTER,
                                 idempotency_key="k2")  # fmt: skip
    assert not other.replayed and len(uow.tables.concerns) == 2


async def test_an_external_ref_sent_again_replays_and_points_the_new_idempotency_key_at_the_first_concern() -> None:
    deps, uow = fake_deps()
    ref = {"external_ref": {"system": "lettings", "id": "case-17"}}
    first = await accept_concern(deps, report(tenancy_id="101-2tv", **ref), channel=HTTP, principal=REPORTER)

    again = await accept_concern(
        deps, report(tenancy_id="101-2tv", **ref), channel=HTTP, principal=REPORTER, idempotency_key="late-key"
    )

    assert (again.concern_id, again.replayed) == (first.concern_id, True)
    assert len(uow.tables.concerns) == len(uow.tables.outbox) == 1
    assert uow.tables.idempotency_keys[("cli_reporter", "late-key")][1] == first.concern_id
    # The key now answers for the first concern.
    third = await accept_concern(
        deps, report(tenancy_id="101-2tv", **ref), channel=HTTP, principal=REPORTER, idempotency_key="late-key"
    )
    assert (third.concern_id, third.replayed) == (first.concern_id, True)


async def test_an_external_ref_reused_for_another_concern_is_a_conflict_that_rolls_the_key_claim_back() -> None:
    deps, uow = fake_deps()
    ref = {"external_ref": {"system": "lettings", "id": "case-17"}}
    await accept_concern(deps, report(tenancy_id="101-2tv", **ref), channel=HTTP, principal=REPORTER)

    with pytest.raises(ConcernConflict) as raised:
        await accept_concern(
            deps, report(tenancy_id="999-1", **ref), channel=HTTP, principal=REPORTER, idempotency_key="k"
        )

    assert raised.value.field == "external_ref"
    assert len(uow.tables.concerns) == len(uow.tables.outbox) == 1
    assert uow.tables.idempotency_keys == {}  # the claim went with the unit


async def test_a_receipt_code_collision_draws_another_code(monkeypatch: pytest.MonkeyPatch) -> None:
    deps, uow = fake_deps()
    taken = await accept_concern(deps, report(), channel=HTTP, principal=REPORTER)
    codes = iter([taken.receipt_code, taken.receipt_code, "QWERTY23"])
    monkeypatch.setattr("services.intake.domain.concern.new_receipt_code", lambda: next(codes))

    receipt = await accept_concern(deps, report(), channel=HTTP, principal=REPORTER)

    assert receipt.receipt_code == "QWERTY23" and receipt.concern_id != taken.concern_id
    assert sorted(c.receipt_code for c in uow.tables.concerns.values()) == sorted(["QWERTY23", taken.receipt_code])
    assert len(uow.tables.outbox) == 2


async def test_five_collisions_in_a_row_give_up_without_storing(monkeypatch: pytest.MonkeyPatch) -> None:
    deps, uow = fake_deps()
    taken = await accept_concern(deps, report(), channel=HTTP, principal=REPORTER)
    monkeypatch.setattr("services.intake.domain.concern.new_receipt_code", lambda: taken.receipt_code)

    with pytest.raises(RuntimeError, match="no free receipt code"):
        await accept_concern(deps, report(), channel=HTTP, principal=REPORTER, idempotency_key="k")

    assert len(uow.tables.concerns) == 1 and uow.tables.idempotency_keys == {}


async def test_a_department_outside_the_callers_scope_is_refused_and_nothing_is_stored() -> None:
    deps, uow = fake_deps()

    with pytest.raises(ConcernRefused):
        await accept_concern(deps, report(), channel=HTTP, principal=OTHER)
    with pytest.raises(ConcernRefused):
        await accept_concern(deps, report(department_id="nowhere-1"), channel=HTTP, principal=REPORTER)

    assert uow.tables.concerns == {} and uow.tables.outbox == []


async def test_an_inbound_duplicate_is_a_replay_and_a_changed_one_is_dead_lettered() -> None:
    deps, uow = fake_deps()
    ref = {"external_ref": {"system": "lettings", "id": "case-9"}}
    first = await concerns.accept_concern(deps, report(tenancy_id="1-1", **ref), channel=IntakeChannel.INBOUND,
                                          source_system="lettings")  # fmt: skip

    again = await accept_concern(
        deps, report(tenancy_id="1-1", **ref), channel=IntakeChannel.INBOUND, source_system="lettings"
    )

    assert (again.concern_id, again.replayed) == (first.concern_id, True)
    assert uow.tables.concerns[first.concern_id].reporter_client_id is None
    assert uow.tables.concerns[first.concern_id].external_id == "case-9"
    with pytest.raises(ConcernConflict):
        await accept_concern(
            deps, report(tenancy_id="2-2", **ref), channel=IntakeChannel.INBOUND, source_system="lettings"
        )
