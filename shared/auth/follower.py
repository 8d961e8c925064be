"""Keeps a ClientRegistry in step with the api-clients topic: a full read at start, then follows."""

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer

from shared.auth.registry import ClientRegistry
from shared.contracts.clients import decode_api_client
from shared.contracts.errors import ContractError
from shared.contracts.topics import API_CLIENTS
from shared.kafka.config import partitions_of
from shared.logging import get_logger

log = get_logger(__name__)


class ApiClientsFollower:
    """Reads api-clients from the beginning (no consumer group) and keeps applying new records."""

    def __init__(
        self, bootstrap_servers: str, registry: ClientRegistry, client_id: str = "api-clients", topic_prefix: str = ""
    ):
        self._topic = topic_prefix + API_CLIENTS
        self._bootstrap = bootstrap_servers
        self.registry = registry
        self._client_id = client_id
        self._task: asyncio.Task[None] | None = None
        self.caught_up = asyncio.Event()

    def start(self) -> None:
        """Start following in the background; `registry.loaded` turns true once caught up."""
        self._task = asyncio.create_task(self._run(), name="api-clients-follower")

    async def stop(self) -> None:
        """Stop following."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap, enable_auto_commit=False, client_id=self._client_id
            )
            try:
                await consumer.start()
                await self._follow(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker may be away at start; keep trying
                log.warning("api_clients_follow_failed", error=type(error).__name__)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        partitions = await partitions_of(consumer, self._topic)
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
            if not self.registry.loaded and all([await consumer.position(p) >= end[p] for p in partitions]):
                self.registry.loaded = True
                self.caught_up.set()
                log.info("api_clients_loaded", clients=len(self.registry.records()))

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            record = decode_api_client(value) if value is not None else None
        except ContractError:
            log.error("api_client_record_invalid")
            return
        self.registry.apply(key.decode(), record)


async def load_registry(bootstrap_servers: str, timeout: float = 30.0, topic_prefix: str = "") -> ClientRegistry:
    """A one-shot, fully loaded registry (for the CLI)."""
    follower = ApiClientsFollower(bootstrap_servers, ClientRegistry(), client_id="crp-cli", topic_prefix=topic_prefix)
    follower.start()
    try:
        await asyncio.wait_for(follower.caught_up.wait(), timeout)
    finally:
        await follower.stop()
    return follower.registry
