"""notify's apply_batch through the in-memory unit of work: webhooks, e-mails, receipts, status updates and feed
entries of a batch written at once, a replayed batch changing nothing, an erasure cancelling what waits for the
reporter (with its final failure event), and a failing batch leaving nothing behind. No PostgreSQL."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notify.domain.fanout import REPORTER, SubscriptionView
from services.notify.domain.payloads import Links
from services.notify.domain.scope import SubscriberScope
from services.notify.handlers import EVENT_HANDLERS
from services.notify.handlers.events import EventDeps, apply_batch
from services.notify.handlers.ports import InMemoryEventUnit
from shared.auth.principal import Role
from shared.contracts.concerns import ConcernErased
from shared.contracts.envelope import Envelope, decode, make_event
from tests.support.notify_helpers import concern_reported, referral_created, status_changed

pytestmark = pytest.mark.unit
LINKS = Links("https://routing.example.dk", "https://intake.example.dk/")
TYPES = frozenset({"referral.created.v1", "referral.status_changed.v1"})
HOLBAEK_HOOK = SubscriptionView("11111111-1111-4111-8111-111111111111", "cli_holbaek", TYPES)
KALUNDBORG_HOOK = SubscriptionView("22222222-2222-4222-8222-222222222222", "cli_kalundborg", TYPES)
PAUSED_HOOK = SubscriptionView("33333333-3333-4333-8333-333333333333", "cli_holbaek", TYPES)
SCOPES = {
    "cli_holbaek": SubscriberScope(Role.MUNICIPALITY, municipality_code="0316"),
    "cli_kalundborg": SubscriberScope(Role.MUNICIPALITY, municipality_code="0326"),
}
OUTCOMES = "unit.notification-events"


def fake(*, receipts: bool = True) -> tuple[EventDeps, InMemoryEventUnit, list[int]]:
    uow = InMemoryEventUnit()
    uow.subscriptions.store(HOLBAEK_HOOK)
    uow.subscriptions.store(KALUNDBORG_HOOK)
    uow.subscriptions.store(PAUSED_HOOK, "paused")
    planned: list[int] = []
    deps = EventDeps(
        pool=None,  # type: ignore[arg-type]
        consumer="notify-unit",
        scope_of=SCOPES.get,
        links=LINKS,
        receipts_enabled=receipts,
        outcome_topic=OUTCOMES,
        source="/services/notify",
        on_planned=lambda: planned.append(1),
        uow=uow,
    )
    return deps, uow, planned


def erased(concern_id: str) -> Envelope[Any]:
    data = ConcernErased(concern_id=concern_id, subject_key="sk_unit_test_key", erased_at=datetime.now(UTC))
    return make_event(data, source="/services/intake", subject="sk_unit_test_key")


def kinds(uow: InMemoryEventUnit) -> list[tuple[str, str | None, str]]:
    """(channel, subscription or recipient, state) of every queued delivery, sorted."""
    return sorted(
        (d.channel.value, d.subscription_id or d.recipient_id, state) for d, state in uow.tables.deliveries.values()
    )


async def test_a_batch_plans_every_effect_in_one_unit_and_a_replay_changes_nothing() -> None:
    deps, uow, planned = fake()
    concern_id = str(uuid.uuid4())
    created = referral_created("holbaek-1", concern_id=concern_id)
    accepted = status_changed(created, "accepted")
    batch = [concern_reported(concern_id), created, accepted]

    assert await apply_batch(batch, deps, EVENT_HANDLERS) == 3

    assert kinds(uow) == [
        ("email", REPORTER, "pending"),  # the receipt
        ("email", REPORTER, "pending"),  # the update: accepted is a milestone, the reporter known in this batch
        ("webhook", HOLBAEK_HOOK.id, "pending"),
        ("webhook", HOLBAEK_HOOK.id, "pending"),
    ]
    assert [e.event_id for e in uow.tables.feed] == [created.id, accepted.id]
    assert json.loads(json.dumps(uow.tables.feed[0].item))["data"]["links"]["referral"].startswith(LINKS.routing_url)
    assert set(uow.tables.reporters) == {concern_id} and uow.commits == 1 and planned == [1]

    before = (dict(uow.tables.deliveries), list(uow.tables.feed), dict(uow.tables.reporters))
    assert await apply_batch(batch, deps, EVENT_HANDLERS) == 0  # every id in the inbox already
    assert (uow.tables.deliveries, uow.tables.feed, uow.tables.reporters) == before
    assert planned == [1]


async def test_an_event_twice_in_one_batch_is_applied_once() -> None:
    deps, uow, _ = fake()
    created = referral_created("hoeng-1")

    assert await apply_batch([created, created], deps, EVENT_HANDLERS) == 1

    assert kinds(uow) == [("webhook", KALUNDBORG_HOOK.id, "pending")]
    assert len(uow.tables.feed) == 1


async def test_a_status_update_goes_only_to_a_reporter_known_from_an_earlier_batch_and_only_with_receipts_on() -> None:
    deps, uow, _ = fake()
    known, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    await apply_batch([concern_reported(known), concern_reported(unknown, has_reporter_contact=False)], deps,
                      EVENT_HANDLERS)  # fmt: skip
    updates = [
        status_changed(
            referral_created("hoeng-1", concern_id=c), "completed", "in_progress", outcome="support_established"
        )
        for c in (known, unknown)
    ]

    await apply_batch(updates, deps, EVENT_HANDLERS)

    to_reporter = [d for d, _ in uow.tables.deliveries.values() if d.recipient_id == REPORTER]
    assert sorted((d.concern_id, d.template) for d in to_reporter) == [
        (known, "reporter_receipt"), (known, "reporter_status")
    ]  # fmt: skip

    off, off_uow, _ = fake(receipts=False)
    await apply_batch([concern_reported(known), *updates], off, EVENT_HANDLERS)
    assert [d for d, _ in off_uow.tables.deliveries.values() if d.recipient_id == REPORTER] == []
    assert off_uow.tables.reporters == {}


async def test_an_erasure_cancels_what_waits_for_the_reporter_with_a_final_failure_event_and_forgets_them() -> None:
    deps, uow, _ = fake()
    concern_id = str(uuid.uuid4())
    created = referral_created("holbaek-1", concern_id=concern_id)
    reported = concern_reported(concern_id)
    await apply_batch([reported, created], deps, EVENT_HANDLERS)
    erasure = erased(concern_id)

    await apply_batch([erasure], deps, EVENT_HANDLERS)

    assert kinds(uow) == [("email", REPORTER, "cancelled"), ("webhook", HOLBAEK_HOOK.id, "pending")]
    assert uow.tables.reporters == {}
    [(topic, record)] = uow.tables.outbox
    event = decode(record.payload)
    assert topic == OUTCOMES and event.type == "notification.failed.v1"
    assert (event.data.reason, event.data.final, event.data.event_id) == ("concern_erased", True, reported.id)
    assert record.key == "email:reporter"
    # A later update about the erased concern reaches no reporter.
    await apply_batch([status_changed(created, "accepted")], deps, EVENT_HANDLERS)
    assert [s for d, s in uow.tables.deliveries.values() if d.recipient_id == REPORTER] == ["cancelled"]


async def test_an_erasure_in_the_same_batch_drops_the_receipt_before_it_is_written() -> None:
    deps, uow, _ = fake()
    concern_id = str(uuid.uuid4())

    await apply_batch([concern_reported(concern_id), erased(concern_id)], deps, EVENT_HANDLERS)

    assert uow.tables.deliveries == {} and uow.tables.reporters == {} and uow.tables.outbox == []


async def test_a_batch_that_fails_leaves_nothing_and_its_events_are_applied_when_it_is_retried() -> None:
    deps, uow, _ = fake()
    created = referral_created("holbaek-1")

    def broken(event: Envelope[Any], batch: Any) -> None:
        raise RuntimeError("planner bug")

    with pytest.raises(RuntimeError):
        await apply_batch([created, erased(created.data.concern_id)], deps,
                          {**EVENT_HANDLERS, "concern.erased.v1": broken})  # fmt: skip

    assert uow.tables.processed == set() and uow.tables.deliveries == {} and uow.tables.feed == []
    assert await apply_batch([created], deps, EVENT_HANDLERS) == 1
    assert kinds(uow) == [("webhook", HOLBAEK_HOOK.id, "pending")]
