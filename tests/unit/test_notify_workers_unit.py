"""notify's delivery workers and outcome recorder on the in-memory leases and outcome store: each attempt's
outcome and its event recorded (delivered, retried, crashed), concurrent outcomes in one write, a lost lease,
the database away, and the run loop claiming, sending and giving its leases back. No PostgreSQL."""

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.outcomes import Outcome
from services.notify.domain.model import AttemptKind, AttemptResult, Channel, Decision, DeliveryState
from services.notify.domain.retry import RetryPolicy
from services.notify.handlers.deliveries import DeliveryWorkers
from services.notify.handlers.ports import InMemoryLeases, InMemoryOutcomes
from services.notify.handlers.recorder import OutcomeRecorder
from shared.contracts.envelope import decode
from tests.support.polling import eventually

pytestmark = pytest.mark.unit
POLICY = RetryPolicy(base_s=1, max_delay_s=60, window_s=3600, retry_after_max_s=600, disable_after_s=86_400)
HOOK = "11111111-1111-4111-8111-111111111111"


def claimed(n: int, *, email: bool = False, attempts: int = 1) -> ClaimedDelivery:
    now = datetime.now(UTC)
    return ClaimedDelivery(
        id=f"00000000-0000-4000-8000-{n:012d}", channel=Channel.EMAIL if email else Channel.WEBHOOK,
        target_key="email:consultant-holbaek" if email else HOOK, event_id=f"e-{n}",
        event_type="referral.created.v1", event_time=now - timedelta(seconds=5), body="{}",
        subscription_id=None if email else HOOK, recipient_id="consultant-holbaek" if email else None,
        referral_id=f"r-{n}", municipality_code="0316", attempts=attempts, generation=1, window_started_at=now,
        subscription_url=None if email else "https://receiver.example.dk/hook", subscription_state="active",
        secret_ciphertext=None, client_id="cli_holbaek", failing_since=None,
    )  # fmt: skip


class Sender:
    """Answers each delivery with the next result (or raises it); remembers the order of the attempts."""

    def __init__(self, *results: AttemptResult | Exception, delay_s: float = 0.0):
        self.results = list(results)
        self.sent: list[str] = []
        self.delay_s = delay_s

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult:
        self.sent.append(delivery.id)
        await asyncio.sleep(self.delay_s)
        result = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(result, Exception):
            raise result
        return result


def workers(leases: InMemoryLeases, store: InMemoryOutcomes, sender: Sender) -> DeliveryWorkers:
    recorder = OutcomeRecorder(None, "unit", store=store, linger_s=0.001)
    return DeliveryWorkers(
        leases, recorder, {Channel.WEBHOOK: sender, Channel.EMAIL: sender}, POLICY, workers=4, per_target=2,
        lease_s=30, poll_s=0.01, topic="unit.notification-events", source="/services/notify",
        rng=random.Random(1),
    )  # fmt: skip


async def recording(store: InMemoryOutcomes, sender: Sender, *deliveries: ClaimedDelivery) -> list[Outcome]:
    """Each delivery attempted once by `deliver`, with the recorder running."""
    pool = workers(InMemoryLeases([]), store, sender)
    run = asyncio.create_task(pool._recorder.run())
    try:
        for delivery in deliveries:
            await pool.deliver(delivery)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    return store.recorded


async def test_a_delivered_attempt_is_recorded_with_its_delivered_event() -> None:
    store = InMemoryOutcomes()

    [outcome] = await recording(store, Sender(AttemptResult.ok(200)), claimed(1))

    assert outcome.decision.state is DeliveryState.DELIVERED and outcome.topic == "unit.notification-events"
    event = decode(outcome.event.payload)
    assert event.type == "notification.delivered.v1" and event.data.delivery_id == outcome.delivery.id
    assert event.data.latency_ms >= 5000 and outcome.event.key == HOOK
    assert store.closed  # the recorder gave its store back when it stopped


async def test_a_transient_failure_is_retried_later_and_a_crashing_sender_too() -> None:
    store = InMemoryOutcomes()
    retry = AttemptResult(AttemptKind.RETRY, "http_5xx", 503)

    first, crashed = await recording(store, Sender(retry, RuntimeError("bug")), claimed(1), claimed(2))

    for outcome in (first, crashed):
        assert outcome.decision.state is DeliveryState.PENDING and not outcome.decision.final
        assert outcome.decision.next_attempt_at is not None and outcome.decision.next_attempt_at >= outcome.at
        event = decode(outcome.event.payload)
        assert event.type == "notification.failed.v1" and event.data.final is False
    assert (first.result.reason, crashed.result.reason) == ("http_5xx", "internal_error")


async def test_concurrent_outcomes_go_in_one_write_and_a_lost_lease_answers_false() -> None:
    store = InMemoryOutcomes()
    store.lost = {claimed(2).id}
    recorder = OutcomeRecorder(None, "unit", store=store, linger_s=0.01)
    run = asyncio.create_task(recorder.run())
    outcomes = [
        Outcome(claimed(n), AttemptResult.ok(), Decision(DeliveryState.DELIVERED), "t", None, datetime.now(UTC))  # type: ignore[arg-type]
        for n in (1, 2, 3)
    ]
    try:
        answers = await asyncio.gather(*(recorder.record(o) for o in outcomes))
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)

    assert answers == [True, False, True]
    assert len(store.batches) == 1 and len(store.batches[0]) == 3


async def test_the_database_away_fails_each_waiting_record_and_the_next_batch_goes_through() -> None:
    store = InMemoryOutcomes()
    store.failing = OSError("connection refused")
    recorder = OutcomeRecorder(None, "unit", store=store, linger_s=0.01)
    run = asyncio.create_task(recorder.run())
    outcome = Outcome(claimed(1), AttemptResult.ok(), Decision(DeliveryState.DELIVERED), "t", None, datetime.now(UTC))  # type: ignore[arg-type]
    try:
        with pytest.raises(OSError):
            await recorder.record(outcome)
        assert await recorder.record(outcome) is True
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


async def test_deliver_retries_recording_while_the_database_is_briefly_away() -> None:
    store = InMemoryOutcomes()
    store.failing = OSError("connection reset")

    [outcome] = await recording(store, Sender(AttemptResult.ok()), claimed(1))

    assert outcome.decision.state is DeliveryState.DELIVERED  # recorded on the retry, not lost


async def test_the_run_loop_claims_sends_each_once_and_gives_its_leases_back() -> None:
    deliveries = [claimed(n) for n in range(5)] + [claimed(10, email=True), claimed(11, email=True)]
    leases, store = InMemoryLeases(deliveries), InMemoryOutcomes()
    sender = Sender(AttemptResult.ok(), delay_s=0.01)
    pool = workers(leases, store, sender)
    run = asyncio.create_task(pool.run())

    async def all_recorded() -> bool:
        return len(store.recorded) == len(deliveries)

    try:
        await eventually(all_recorded, within=10, what="every delivery recorded")
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)

    assert sorted(sender.sent) == sorted(d.id for d in deliveries)  # each once
    assert sender.sent.index(claimed(10).id) < sender.sent.index(claimed(11).id)  # e-mail: in order, one at a time
    assert leases.claims[0]["limit"] == 16 and leases.released
