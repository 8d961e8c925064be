"""Applying one consumed message: decode, hand to the handler, retry what is transient, dead-letter the rest."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import asyncpg
from tenacity import AsyncRetrying, retry_if_not_exception_type, wait_exponential_jitter

from shared.contracts.envelope import ContractError
from shared.kafka.dead_letters import DeadLetters, RawMessage
from shared.kafka.errors import UNAPPLIABLE_DATA, PermanentError, event_type_of
from shared.logging import get_logger
from shared.metrics import DEAD_LETTERS, EVENT_DURATION, EVENT_RETRIES, EVENTS_HANDLED

T = TypeVar("T")
log = get_logger(__name__)


class EventProcessor(Generic[T]):
    """Decodes a message, applies it once through the handler, and never lets one bad message stop the rest.

    Transient failures (database or broker away) are retried with backoff and jitter for as long as it
    takes, so nothing is skipped; a message that fails to decode or that the handler refuses as
    permanent (or whose values the database refuses) goes to the topic's dead-letter topic with the reason,
    and processing carries on.
    """

    def __init__(
        self,
        *,
        consumer: str,
        decoder: Callable[[bytes], T],
        handler: Callable[[T], Awaitable[Any]],
        dead_letters: DeadLetters,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 30.0,
    ):
        self.consumer = consumer
        self._decoder = decoder
        self._handler = handler
        self._dead_letters = dead_letters
        self._wait = wait_exponential_jitter(multiplier=retry_initial_s, max=retry_max_s)

    async def process(self, message: RawMessage, *, in_flight: list[asyncio.Task[None]] | None = None) -> str:
        """Apply one message; returns the outcome: "applied" or "dead_lettered".

        With `in_flight`, a dead letter is sent without waiting for the broker's acknowledgement; its task is
        appended, and the caller must await them all before it commits the offsets (a flood of bad messages
        then travels in a few producer batches instead of one round trip each).
        """
        started = time.perf_counter()
        try:
            event = self._decoder(message.value or b"")
        except ContractError as error:
            return await self._dead_letter(message, "unknown", error.reason, str(error), in_flight)
        event_type = event_type_of(event)
        try:
            async for attempt in AsyncRetrying(
                wait=self._wait,
                # A cancelled consumer (shutdown) must stop, not retry: tenacity would otherwise swallow it.
                retry=retry_if_not_exception_type(
                    (PermanentError, ContractError, asyncpg.DataError, asyncio.CancelledError)
                ),
                before_sleep=lambda state: self._on_retry(message, event_type, state),
                reraise=True,
            ):
                with attempt:
                    await self._handler(event)
        except (PermanentError, ContractError) as error:
            reason = getattr(error, "reason", "rejected")
            return await self._dead_letter(message, event_type, reason, str(error), in_flight)
        except asyncpg.DataError as error:
            # The database refuses the values themselves (a number out of range, a string too long): no retry
            # can help, and retrying forever would stop the partition. The error text may quote the value: not kept.
            refused = f"{type(error).__name__}: the database refused a value of the event"
            return await self._dead_letter(message, event_type, UNAPPLIABLE_DATA, refused, in_flight)
        EVENTS_HANDLED.labels(self.consumer, message.topic, event_type, "applied").inc()
        EVENT_DURATION.labels(self.consumer, message.topic, event_type).observe(time.perf_counter() - started)
        return "applied"

    def _on_retry(self, message: RawMessage, event_type: str, state: Any) -> None:
        EVENT_RETRIES.labels(self.consumer, message.topic, event_type).inc()
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "event_retry",
            consumer=self.consumer,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            event_type=event_type,
            attempt=state.attempt_number,
            error=type(error).__name__,
        )

    async def _dead_letter(
        self, message: RawMessage, event_type: str, reason: str, error: str, in_flight: list[asyncio.Task[None]] | None
    ) -> str:
        sending = dead_letter(
            self._dead_letters, message, consumer=self.consumer, event_type=event_type, reason=reason, error=error
        )
        if in_flight is None:
            await sending
        else:
            in_flight.append(asyncio.ensure_future(sending))
        return "dead_lettered"


async def dead_letter(
    dead_letters: DeadLetters, message: RawMessage, *, consumer: str, event_type: str, reason: str, error: str
) -> None:
    """Park `message` in its topic's .dlq, count it and log where it came from (never its content)."""
    await dead_letters.send(message, reason=reason, error=error)
    DEAD_LETTERS.labels(consumer, message.topic, reason).inc()
    EVENTS_HANDLED.labels(consumer, message.topic, event_type, "dead_lettered").inc()
    log.warning(
        "event_dead_lettered",
        consumer=consumer,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=reason,
    )
