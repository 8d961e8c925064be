"""Delivery workers: claim due deliveries, send each, record the outcome; one slow target never blocks others."""

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.outcomes import Outcome
from services.notify.domain.model import AttemptKind, AttemptResult, Channel, Decision, DeliveryState
from services.notify.domain.retry import RetryPolicy, decide
from services.notify.handlers.outcomes import outcome_event
from services.notify.handlers.ports import DeliveryLeases
from services.notify.handlers.recorder import OutcomeRecorder
from services.notify.handlers.slots import Slots
from services.notify.metrics import (
    ATTEMPT_DURATION,
    ATTEMPTS,
    DELIVERIES,
    LATENCY,
    SUBSCRIPTIONS_DISABLED,
    WEBHOOK_ATTEMPTS,
)
from shared import tracing
from shared.logging import get_logger

log = get_logger(__name__)
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class Sender(Protocol):
    """Makes one attempt at a delivery and says what it came to; never raises for the receiver's faults."""

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult: ...


class DeliveryWorkers:
    """A pool of at most `workers` attempts in flight, at most `per_target` per subscription or recipient."""

    def __init__(
        self,
        queue: DeliveryLeases,
        recorder: OutcomeRecorder,
        senders: dict[Channel, Sender],
        policy: RetryPolicy,
        *,
        workers: int,
        per_target: int,
        lease_s: float,
        poll_s: float,
        topic: str,
        source: str,
        on_recorded: Callable[[], None] = lambda: None,
        rng: random.Random | None = None,
    ):
        self._queue = queue
        self._recorder = recorder
        self._senders = senders
        self._policy = policy
        self._per_target = per_target
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._topic = topic
        self._source = source
        self._on_recorded = on_recorded
        self._rng = rng or random.SystemRandom()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = Slots(workers=workers, per_target=per_target)
        self.wakeup = asyncio.Event()

    async def run(self) -> None:
        """Claim and deliver until cancelled; then give the unfinished leases back."""
        recorder = asyncio.create_task(self._recorder.run(), name="outcome-recorder")
        try:
            kept_alive = time.monotonic()
            while True:
                self.wakeup.clear()
                await self._claim_and_start()
                if time.monotonic() - kept_alive > self._lease_s / 3:
                    kept_alive = await self._keep_leases()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_s):
                        await self.wakeup.wait()
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)
            with contextlib.suppress(*_DB_ERRORS):
                await self._queue.release()

    async def _claim_and_start(self) -> None:
        room = self._slots.room()
        if room > 0:
            try:
                claimed = await self._queue.claim(
                    limit=room,
                    per_target=self._slots.hold_limit(""),
                    email_limit=self._slots.hold_limit("email:"),
                    busy=self._slots.held(),
                    lease_s=self._lease_s,
                )
            except _DB_ERRORS as error:
                log.warning("delivery_claim_failed", error=type(error).__name__)
                claimed = []
            self._slots.add(claimed)
        self._start()

    def _start(self) -> None:
        for delivery in self._slots.startable():
            task = asyncio.create_task(self.deliver(delivery), name=f"delivery-{delivery.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _slot_free(self, delivery: ClaimedDelivery) -> None:
        # The slot limits requests in flight; recording the outcome needs none (the lease still
        # keeps the delivery from other workers), so the next waiting one starts at once.
        if self._slots.done(delivery):
            self._start()
            if self._slots.running_low(delivery.target_key):
                self.wakeup.set()

    async def _keep_leases(self) -> float:
        """Extend the leases of what this process holds (waiting in line, or being sent)."""
        try:
            await self._queue.extend_leases(self._lease_s)
        except _DB_ERRORS as error:
            log.warning("delivery_lease_extension_failed", error=type(error).__name__)
        return time.monotonic()

    async def deliver(self, delivery: ClaimedDelivery) -> None:
        """One attempt at one delivery, and its outcome recorded with its event."""
        started = time.perf_counter()
        try:
            result = await self._send(delivery)
        except Exception as error:  # a bug in a sender must not lose the delivery: it is retried
            log.error("delivery_attempt_crashed", delivery_id=delivery.id, error=type(error).__name__)
            result = AttemptResult(AttemptKind.RETRY, "internal_error")
        finally:
            self._slot_free(delivery)
        channel = delivery.channel.value
        ATTEMPT_DURATION.labels(channel).observe(time.perf_counter() - started)
        ATTEMPTS.labels(channel, result.reason or "ok").inc()
        if delivery.subscription_id is not None:
            WEBHOOK_ATTEMPTS.labels(delivery.subscription_id, result.reason or "ok").inc()
        now = datetime.now(UTC)
        decision = decide(
            result,
            attempts=delivery.attempts,
            window_started_at=delivery.window_started_at,
            failing_since=delivery.failing_since,
            now=now,
            policy=self._policy,
            rng=self._rng,
        )
        event = outcome_event(delivery, result, decision, now, source=self._source)
        try:
            recorded = await self._record(Outcome(delivery, result, decision, self._topic, event, now))
        except _DB_ERRORS as error:
            # The lease runs out and the delivery is attempted again: at least once, never lost.
            log.warning("delivery_record_failed", delivery_id=delivery.id, error=type(error).__name__)
            return
        if recorded:
            self._observe(delivery, result, decision, now)
            self._on_recorded()

    async def _send(self, delivery: ClaimedDelivery) -> AttemptResult:
        """The channel's attempt; with tracing on, in a span continuing the trace of the event that planned it."""
        send = self._senders[delivery.channel].send
        if not tracing.enabled():
            return await send(delivery)
        channel = delivery.channel.value
        with tracing.span(
            f"{channel} delivery",
            kind="PRODUCER",
            parent=delivery.traceparent,
            delivery_channel=channel,
            event_type=delivery.event_type,
            concern_id=delivery.concern_id,
            referral_id=delivery.referral_id,
        ):
            return await send(delivery)

    async def _record(self, outcome: Outcome) -> bool:
        """Record, retrying a few times while the database is away (the first try needs no retry machinery)."""
        try:
            return await self._recorder.record(outcome)
        except _DB_ERRORS:
            pass
        async for attempt in AsyncRetrying(
            wait=wait_exponential_jitter(multiplier=0.2, max=5),
            stop=stop_after_attempt(4),
            retry=retry_if_exception_type(_DB_ERRORS),
            reraise=True,
        ):
            with attempt:
                return await self._recorder.record(outcome)
        return False

    def _observe(self, delivery: ClaimedDelivery, result: AttemptResult, decision: Decision, now: datetime) -> None:
        channel = delivery.channel.value
        outcome = "retry" if decision.state is DeliveryState.PENDING else decision.state.value
        DELIVERIES.labels(channel, outcome).inc()
        if decision.state is DeliveryState.DELIVERED:
            LATENCY.labels(channel).observe(max(0.0, (now - delivery.event_time).total_seconds()))
            return
        fields = {
            "delivery_id": delivery.id,
            "subscription_id": delivery.subscription_id,
            "channel": channel,
            "reason": result.reason,
            "status": result.status,
            "attempts": delivery.attempts,
        }
        if decision.disable_subscription:
            SUBSCRIPTIONS_DISABLED.labels(decision.disable_subscription).inc()
            # Ops are told: this log line, the metric above, and the final notification.failed.v1.
            log.warning("subscription_disabled", because=decision.disable_subscription, **fields)
        elif decision.state is DeliveryState.DEAD:
            log.warning("delivery_dead", **fields)
        elif decision.state is DeliveryState.PENDING:
            log.info("delivery_retry_scheduled", next_attempt_at=decision.next_attempt_at.isoformat(), **fields)
        else:
            log.info("delivery_cancelled", **fields)
