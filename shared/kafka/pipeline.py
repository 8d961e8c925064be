"""The one consumer pipeline of every service: decode, dead-letter in bulk, apply the batch, then commit.

A partition's polled records are one batch (a single event is a batch of one):

1. each record is decoded by the consumer's decoder; one that fails, or whose type the consumer neither
   handles nor ignores, is a dead letter;
2. the batch's dead letters are sent together (one producer batch) and all are acknowledged by the broker
   before anything is committed;
3. the rest is applied through `apply(events)` (the service's entry in its handler table), retried with
   backoff and jitter for as long as a failure is transient (database or broker away);
4. a batch refused as permanent (`PermanentError`, a `ContractError`, or a value the database refuses) is
   applied event by event, so only the bad event is dead-lettered and the rest still applies;
5. the driver commits the partition's offset only after `process` returns: nothing is committed that is not
   durable, and redelivery is harmless because every handler is idempotent.

The drivers are thin: `run_consumer` polls an aiokafka consumer; a Faust agent is an `async for` over its
stream that hands each batch to `Pipeline.process` and acknowledges it afterwards.
"""

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from tenacity import AsyncRetrying, retry_if_not_exception_type, wait_exponential_jitter

from shared import tracing
from shared.contracts.envelope import ContractError
from shared.kafka.config import consumer_config
from shared.kafka.dead_letters import DeadLetters, RawMessage
from shared.kafka.errors import UNAPPLIABLE_DATA, PermanentError, event_type_of
from shared.logging import get_logger
from shared.metrics import DEAD_LETTERS, EVENT_DURATION, EVENT_RETRIES, EVENTS_HANDLED

T = TypeVar("T")
log = get_logger(__name__)

ApplyBatch = Callable[[list[Any]], Awaitable[Any]]
"""A consumer's handler-table entry: applies a batch of decoded events of the types it handles, in order."""

UNHANDLED_TYPE = "unhandled_type"
_REFUSED = (PermanentError, ContractError, asyncpg.DataError)
"""What no retry can help: the event is dead-lettered (alone, once isolated from its batch)."""


def raw_message(record: Any) -> RawMessage:
    """The parts of a consumed record the pipeline and dead letters need (an aiokafka record or a Faust message)."""
    headers = record.headers or ()
    if isinstance(headers, Mapping):
        headers = headers.items()
    return RawMessage(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple((str(k), bytes(v)) for k, v in headers),
    )


@dataclass
class Outcome:
    """What became of a batch: how many applied, ignored and dead-lettered, and what `apply` returned."""

    applied: int = 0
    ignored: int = 0
    dead_lettered: int = 0
    results: list[Any] = field(default_factory=list)


class Pipeline(Generic[T]):
    """Decodes and applies batches of one consumer; every message ends applied, ignored or dead-lettered.

    `handles` are the event types `apply` takes (its handler table's keys); `ignores` are types this consumer
    acknowledges without applying (another consumer's business on a shared topic). Any other type is a dead
    letter with reason `unhandled_type`, so it can be replayed once a handler exists.

    `chunk` caps how many events one call of `apply` takes (default: the whole batch). A consumer whose handlers
    apply each event in a transaction of its own passes 1: a retry or a refusal then touches only that event, and
    the events before it are not applied a second time.
    """

    def __init__(
        self,
        *,
        consumer: str,
        decoder: Callable[[bytes], T],
        apply: ApplyBatch,
        handles: Collection[str],
        dead_letters: DeadLetters,
        ignores: Collection[str] = frozenset(),
        chunk: int | None = None,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 30.0,
    ):
        self.consumer = consumer
        self._chunk = chunk
        self._decoder = decoder
        self._apply = apply
        self._handles = frozenset(handles)
        self._ignores = frozenset(ignores)
        self._dead_letters = dead_letters
        self._wait = wait_exponential_jitter(multiplier=retry_initial_s, max=retry_max_s)

    async def process(self, messages: Sequence[RawMessage]) -> Outcome:
        """Apply one batch (in order); returns when every message is applied, ignored or durably dead-lettered."""
        started = time.perf_counter()
        outcome = Outcome()
        good: list[tuple[RawMessage, T]] = []
        refused: list[Awaitable[None]] = []
        for message in messages:
            try:
                event = self._decoder(message.value or b"")
            except ContractError as error:
                refused.append(self._dead_letter(message, "unknown", error.reason, str(error)))
                continue
            kind = event_type_of(event)
            if kind in self._handles:
                good.append((message, event))
            elif kind in self._ignores:
                outcome.ignored += 1
                EVENTS_HANDLED.labels(self.consumer, message.topic, kind, "ignored").inc()
            else:
                refused.append(self._dead_letter(message, kind, UNHANDLED_TYPE, f"no handler for {kind}"))
        # Sent together rather than one acknowledged send after another: a flood of bad messages drains in a few
        # producer round trips. All are acknowledged before `process` returns, so before any commit.
        await asyncio.gather(*refused)
        outcome.dead_lettered = len(refused)
        if good:
            step = self._chunk or len(good)
            applied = []
            if tracing.enabled():  # one CONSUMER span per event, current while it applies (its outbox rows' parent)
                for message, event in good:
                    with tracing.consuming(self.consumer, message, event):
                        applied += await self._apply_good([(message, event)], outcome)
            else:
                for start in range(0, len(good), step):
                    applied += await self._apply_good(good[start : start + step], outcome)
            outcome.applied = len(applied)
            outcome.dead_lettered += len(good) - len(applied)
            self._count_applied(applied, time.perf_counter() - started)
        return outcome

    async def _apply_good(self, good: list[tuple[RawMessage, T]], outcome: Outcome) -> list[tuple[RawMessage, T]]:
        """Apply the decodable events; returns those applied (all of them unless some were refused)."""
        try:
            outcome.results.append(await self._retrying([event for _, event in good], good[0][0]))
            return good
        except _REFUSED as error:
            if len(good) == 1:  # a batch of one: no need to try it again alone
                await self._refuse(*good[0], error)
                return []
        applied = []
        for message, event in good:  # isolate the bad one(s); the others apply
            try:
                outcome.results.append(await self._retrying([event], message))
            except _REFUSED as error:
                await self._refuse(message, event, error)
                continue
            applied.append((message, event))
        return applied

    async def _refuse(self, message: RawMessage, event: T, error: BaseException) -> None:
        if isinstance(error, asyncpg.DataError):
            # The database refuses the values themselves (out of range, too long): no retry can help. The error
            # text may quote the value: not kept.
            reason, text = UNAPPLIABLE_DATA, f"{type(error).__name__}: the database refused a value of the event"
        else:
            reason, text = str(getattr(error, "reason", "rejected")), str(error)
        await self._dead_letter(message, event_type_of(event), reason, text)

    async def _retrying(self, events: list[T], first: RawMessage) -> Any:
        async for attempt in AsyncRetrying(
            wait=self._wait,
            # A cancelled consumer (shutdown) must stop, not retry: tenacity would otherwise swallow it.
            retry=retry_if_not_exception_type((*_REFUSED, asyncio.CancelledError)),
            before_sleep=lambda state: self._on_retry(first, len(events), state),
            reraise=True,
        ):
            with attempt:
                return await self._apply(events)
        return None  # pragma: no cover - AsyncRetrying either returns or raises

    def _on_retry(self, message: RawMessage, events: int, state: Any) -> None:
        EVENT_RETRIES.labels(self.consumer, message.topic, "batch").inc()
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "event_batch_retry",
            consumer=self.consumer,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            events=events,
            attempt=state.attempt_number,
            error=type(error).__name__,
        )

    def _count_applied(self, applied: list[tuple[RawMessage, T]], elapsed_s: float) -> None:
        each = elapsed_s / max(len(applied), 1)
        # One label look-up per (topic, type) of the batch, not per event.
        for (topic, kind), count in Counter((m.topic, event_type_of(e)) for m, e in applied).items():
            EVENTS_HANDLED.labels(self.consumer, topic, kind, "applied").inc(count)
            duration = EVENT_DURATION.labels(self.consumer, topic, kind)
            for _ in range(count):
                duration.observe(each)

    async def _dead_letter(self, message: RawMessage, event_type: str, reason: str, error: str) -> None:
        await self._dead_letters.send(message, reason=reason, error=error)
        DEAD_LETTERS.labels(self.consumer, message.topic, reason).inc()
        EVENTS_HANDLED.labels(self.consumer, message.topic, event_type, "dead_lettered").inc()
        log.warning(
            "event_dead_lettered",
            consumer=self.consumer,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            reason=reason,
        )


def dispatch(handlers: Mapping[str, ApplyBatch]) -> ApplyBatch:
    """An `apply` from a handler table (event type -> batch handler): consecutive events of one handler go together.

    Order is kept: a batch [a1, a2, b1, a3] is applied as [a1, a2], [b1], [a3]. A handler the table names for
    several types takes their runs as one (routing's one handler of reports and erasures: one transaction a batch).
    """

    async def apply(events: list[Any]) -> list[Any]:
        results: list[Any] = []
        run: list[Any] = []
        for event in events:
            if run and handlers[event_type_of(run[0])] is not handlers[event_type_of(event)]:
                results.append(await handlers[event_type_of(run[0])](run))
                run = []
            run.append(event)
        if run:
            results.append(await handlers[event_type_of(run[0])](run))
        return results

    return apply


async def run_consumer(consumer: AIOKafkaConsumer, pipeline: Pipeline[Any], *, poll_timeout_ms: int = 500) -> None:
    """The aiokafka driver: poll, process each partition's records as one batch, commit that partition; forever."""
    while True:
        try:
            batches = await consumer.getmany(timeout_ms=poll_timeout_ms)
        except KafkaError as error:
            log.warning("consumer_poll_failed", consumer=pipeline.consumer, error=type(error).__name__)
            await asyncio.sleep(1.0)
            continue
        for partition, records in batches.items():
            await pipeline.process([raw_message(record) for record in records])
            await _commit(consumer, pipeline.consumer, partition, records[-1].offset + 1)


async def _commit(consumer: AIOKafkaConsumer, name: str, partition: TopicPartition, offset: int) -> None:
    try:
        await consumer.commit({partition: offset})
    except (CommitFailedError, KafkaError) as error:
        # The group moved on (rebalance) or the broker is away: the records come again, and applying them is
        # idempotent, so redelivery is harmless.
        log.warning(
            "consumer_commit_failed",
            consumer=name,
            topic=partition.topic,
            partition=partition.partition,
            error=type(error).__name__,
        )


@contextlib.asynccontextmanager
async def consuming(
    bootstrap_servers: str, group_id: str, topics: Sequence[str], pipeline: Pipeline[Any]
) -> AsyncIterator[AIOKafkaConsumer]:
    """Run the pipeline over an aiokafka consumer in the background for the duration of the block (a lifespan)."""
    consumer = AIOKafkaConsumer(*topics, **consumer_config(bootstrap_servers, group_id, client_id=group_id))
    await consumer.start()
    task = asyncio.create_task(run_consumer(consumer, pipeline), name=f"consumer-{group_id}")
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
