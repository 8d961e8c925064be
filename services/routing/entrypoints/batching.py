"""Applying consumed messages in batches: decode, dead-letter what is bad, apply the rest in one transaction.

Like shared EventProcessor (which applies one message at a time) but batched for throughput; transient
failures are retried with backoff for as long as it takes, and a batch refused as permanent is applied
event by event so that only the bad event goes to the dead-letter topic.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import AsyncRetrying, retry_if_not_exception_type, wait_exponential_jitter

from shared.contracts.envelope import ContractError, Envelope, decode
from shared.kafka.dead_letters import DeadLetters, RawMessage
from shared.kafka.processing import PermanentError, dead_letter
from shared.logging import get_logger
from shared.metrics import EVENT_DURATION, EVENT_RETRIES, EVENTS_HANDLED

log = get_logger(__name__)
ApplyBatch = Callable[[list[Envelope]], Awaitable[Any]]


class BatchProcessor:
    """Decodes and applies a batch of messages of one topic; returns what the apply function returned."""

    def __init__(
        self,
        *,
        consumer: str,
        apply: ApplyBatch,
        handled: frozenset[str],
        dead_letters: DeadLetters,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 30.0,
    ):
        self.consumer = consumer
        self._apply = apply
        self._handled = handled
        self._dead_letters = dead_letters
        self._wait = wait_exponential_jitter(multiplier=retry_initial_s, max=retry_max_s)

    async def process(self, messages: list[RawMessage]) -> list[Any]:
        """Apply the batch; every message ends applied or dead-lettered."""
        started = time.perf_counter()
        good: list[tuple[RawMessage, Envelope]] = []
        refused: list[Awaitable[None]] = []
        for message in messages:
            try:
                event = decode(message.value or b"")
            except ContractError as error:
                refused.append(self._dead_letter(message, "unknown", error.reason, str(error)))
                continue
            if event.type not in self._handled:
                refused.append(self._dead_letter(message, event.type, "unhandled_type", f"no handler for {event.type}"))
                continue
            good.append((message, event))
        # Sent together (one producer batch) rather than one acknowledged send after another: a flood of bad
        # messages drains in seconds. All are acknowledged before the batch is, so none is lost on a crash.
        await asyncio.gather(*refused)
        if not good:
            return []
        try:
            results = [await self._retrying([e for _, e in good], good[0][0])]
        except PermanentError:
            results = []
            for message, event in good:  # isolate the bad one(s)
                try:
                    results.append(await self._retrying([event], message))
                except PermanentError as error:
                    await self._dead_letter(message, event.type, getattr(error, "reason", "rejected"), str(error))
        elapsed = (time.perf_counter() - started) / max(len(good), 1)
        # One label look-up per (topic, type) of the batch, not per event.
        for (topic, event_type), count in Counter((m.topic, e.type) for m, e in good).items():
            EVENTS_HANDLED.labels(self.consumer, topic, event_type, "applied").inc(count)
            duration = EVENT_DURATION.labels(self.consumer, topic, event_type)
            for _ in range(count):
                duration.observe(elapsed)
        return results

    async def _retrying(self, events: list[Envelope], first: RawMessage) -> Any:
        async for attempt in AsyncRetrying(
            wait=self._wait,
            retry=retry_if_not_exception_type((PermanentError, ContractError)),
            before_sleep=lambda state: self._on_retry(first, state),
            reraise=True,
        ):
            with attempt:
                return await self._apply(events)
        return None  # pragma: no cover - AsyncRetrying either returns or raises

    def _on_retry(self, message: RawMessage, state: Any) -> None:
        EVENT_RETRIES.labels(self.consumer, message.topic, "batch").inc()
        error = state.outcome.exception() if state.outcome else None
        log.warning("batch_retry", consumer=self.consumer, attempt=state.attempt_number, error=type(error).__name__)

    async def _dead_letter(self, message: RawMessage, event_type: str, reason: str, error: str) -> None:
        await dead_letter(
            self._dead_letters, message, consumer=self.consumer, event_type=event_type, reason=reason, error=error
        )
