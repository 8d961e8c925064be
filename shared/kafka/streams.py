"""faust-streaming support: the app of a worker service, and agents that reuse the EventProcessor."""

import asyncio
import contextlib
import inspect
import os
import types
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.services import WaitResults

from shared.kafka.config import faust_credentials
from shared.kafka.dead_letters import RawMessage
from shared.kafka.processing import EventProcessor
from shared.settings import Settings


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread with a short fetch long-poll (Faust fixes it at 1.5 s).

    aiokafka keeps one fetch in flight per broker and leaves out of it a partition whose fetched records are
    still being consumed. Faust's consumer also reads its assignor topic and any table changelog, which are
    empty; so a fetch sent while the agent works through a batch asks only for those and waits the whole
    long-poll, and every partition that runs dry meanwhile waits with it. With 1.5 s that split a flood into
    bursts and stalls (routing bench: 1.2 s of every 2 s idle).
    """

    fetch_max_wait_ms: int = 100

    def _create_worker_consumer(self, transport: faust_aiokafka.Transport) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # read when the consumer starts its fetcher
        return consumer


class QuickDelivery:
    """Faust's delivery of each fetched message without four tasks when it need not wait (a mixin of the consumer).

    Faust hands every message to its agents with `wait_first(deliver(message), suspend_flow.wait())`: a
    rebalance that suspends the flow abandons a delivery waiting for room in a full agent buffer. That makes
    four tasks and an `asyncio.wait` per message (the routing worker's CPU per concern went from about 150 to
    115-120 microseconds without them). Nearly every delivery finishes without waiting: it is stepped here by hand, and
    only one that has to wait goes to Faust's `wait_first`, which from then on behaves exactly as before.
    """

    suspend_flow: asyncio.Event
    _stopped: asyncio.Event
    _crashed: asyncio.Event

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """Service.wait_first; for a message's delivery against the suspended flow, the delivery tried first."""
        if timeout is None and len(coros) == 2 and self._is_delivery(*coros):
            delivery, suspended = coros
            try:
                waiting_for = delivery.send(None)
            except StopIteration as done:  # delivered without waiting: it won, and nothing else was started
                suspended.close()
                return WaitResults([delivery], [done.value], False)
            except BaseException:
                suspended.close()
                raise
            coros = (_rest_of(delivery, waiting_for), suspended)
        return await super().wait_first(*coros, timeout=timeout)  # type: ignore[misc]

    def _is_delivery(self, delivery: Any, other: Any) -> bool:
        # Exactly Faust's call in Consumer._drain_messages, and only while nothing else could win already.
        return (
            inspect.iscoroutine(delivery)
            and inspect.getcoroutinestate(delivery) == inspect.CORO_CREATED
            and inspect.iscoroutine(other)
            and other.cr_code is asyncio.Event.wait.__code__
            and other.cr_frame.f_locals.get("self") is self.suspend_flow
            and not (self.suspend_flow.is_set() or self._stopped.is_set() or self._crashed.is_set())
        )


async def _rest_of(coro: Coroutine[Any, Any, Any], waiting_for: Any) -> Any:
    """The rest of `coro`, which was stepped by hand and is waiting for `waiting_for` (a future, or None)."""
    return await _resumed(coro, waiting_for)


@types.coroutine
def _resumed(coro: Coroutine[Any, Any, Any], waiting_for: Any) -> Generator[Any, Any, Any]:
    while True:
        try:
            yield waiting_for  # the task running this waits for it, as it would have for `coro`
        except BaseException as error:  # thrown in by that task (a cancellation): `coro` gets it
            try:
                waiting_for = coro.throw(error)
            except StopIteration as done:
                return done.value
            continue
        try:
            waiting_for = coro.send(None)
        except StopIteration as done:
            return done.value


class _Consumer(QuickDelivery, faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class _App(faust.App):
    def _new_transport(self) -> faust.types.TransportT:
        return _Transport(self.conf.broker_consumer, self)


def make_stream_app(settings: Settings) -> faust.App:
    """A Faust app whose id is the service's consumer group; its web server is off (FastAPI serves HTTP)."""
    os.makedirs(settings.state_dir, exist_ok=True)  # Faust creates only the last level of its datadir
    return _App(
        settings.kafka_group(),
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        broker_credentials=faust_credentials(),
        store="memory://",
        # Faust keeps table state and a lock per app id in its data directory; not in the working directory.
        datadir=os.path.join(settings.state_dir, "{conf.id}-data"),
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Faust stops fetching a partition whose agent buffer is at 80% and, when all are stopped, checks again
        # only after a second (not when the buffer drains): with its default 4,096 a flood ran in bursts of
        # ~1,600 events and one-second stalls. A buffer of several seconds' work keeps the agents fed.
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic read as raw bytes: our contracts, not Faust's codecs, decide what is valid."""
    return app.topic(name, key_serializer="raw", value_serializer="raw")


async def process_stream(
    stream: faust.StreamT, processor: EventProcessor[Any], *, batch: int = 200, idle_s: float = 0.05
) -> None:
    """Agent body: apply each event in order; bad ones are dead-lettered, never block the partition.

    Acks are ours: an event is acknowledged (its offset committable) only once it is applied or its dead letter
    is durable. Dead letters go out without waiting one by one and are acknowledged together (after `batch` of
    them, before the next applied event, or when the stream is idle for `idle_s`): a flood of bad messages
    costs a few producer round trips, not one each.
    """
    manual = stream.noack()
    unacked: list[faust.EventT] = []
    in_flight: list[asyncio.Task[None]] = []
    lock = asyncio.Lock()

    async def acknowledge() -> None:
        await asyncio.gather(*in_flight)
        for event in unacked:
            await manual.ack(event)
        unacked.clear()
        in_flight.clear()

    async def acknowledge_when_idle() -> None:
        while True:
            await asyncio.sleep(idle_s)
            async with lock:
                if unacked:
                    await acknowledge()

    idle = asyncio.create_task(acknowledge_when_idle())
    try:
        async for event in manual.events():
            async with lock:
                outcome = await processor.process(_raw(event), in_flight=in_flight)
                unacked.append(event)
                if outcome == "applied" or len(unacked) >= batch:
                    await acknowledge()
    finally:
        idle.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await idle


def _raw(event: faust.EventT) -> RawMessage:
    message = event.message
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=event.value,
        headers=tuple((k, v) for k, v in (message.headers or ())),
    )


@contextlib.asynccontextmanager
async def running(app: faust.App) -> AsyncIterator[faust.App]:
    """Start the Faust worker in the current event loop (beside uvicorn) and stop it on exit."""
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
