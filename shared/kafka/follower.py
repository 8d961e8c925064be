"""Following a compacted topic: a full read from the beginning at start (no consumer group), then every new record."""

import asyncio
import contextlib
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from shared.kafka.config import client_config, partitions_of
from shared.logging import get_logger

log = get_logger(__name__)

Apply = Callable[[bytes | None, bytes | None], None]
"""Applies one record (key, value); a None value is a tombstone."""


class CompactedFollower:
    """Reads a compacted topic from the beginning and keeps applying new records; `caught_up` once at its end."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        apply: Apply,
        *,
        client_id: str,
        on_caught_up: Callable[[], None] = lambda: None,
    ):
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._apply = apply
        self._client_id = client_id
        self._on_caught_up = on_caught_up
        self._task: asyncio.Task[None] | None = None
        self.caught_up = asyncio.Event()

    def start(self) -> None:
        """Start following in the background."""
        self._task = asyncio.create_task(self._run(), name=f"{self._topic}-follower")

    async def stop(self) -> None:
        """Stop following."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                **client_config(self._bootstrap, enable_auto_commit=False, client_id=self._client_id)
            )
            try:
                await consumer.start()
                await self._follow(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker may be away at start; keep trying
                log.warning("compacted_follow_failed", topic=self._topic, error=type(error).__name__)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        partitions = await partitions_of(self._bootstrap, self._topic)
        if not partitions:
            raise RuntimeError(f"topic {self._topic} not found; run `crp topics ensure`")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self._apply(record.key, record.value)
            if not self.caught_up.is_set() and all([await consumer.position(p) >= end[p] for p in partitions]):
                self.caught_up.set()
                self._on_caught_up()
