"""Periodic work every routing worker runs beside the agent: the clocks and the consumer-lag gauge."""

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import faust
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.routing import metrics
from services.routing.handlers import scheduler
from services.routing.handlers.deps import Deps
from shared.kafka.config import client_config
from shared.logging import get_logger

log = get_logger(__name__)
TRANSIENT = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, KafkaError, LookupError)


async def every(interval_s: float, work: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `work` every `interval_s` seconds until cancelled; transient failures are logged and retried."""
    while True:
        try:
            await work()
        except TRANSIENT as error:
            log.warning("periodic_failed", task=name, error=type(error).__name__)
        await asyncio.sleep(interval_s)


async def run_clocks(deps: Deps) -> None:
    """One scheduler round (reminders, escalations, open-referral gauge)."""
    reminded, escalated = await scheduler.tick(deps)
    if reminded or escalated:
        log.info("clocks_fired", reminded=reminded, escalated=escalated)


class LagProbe:
    """Consumer lag of this worker's partitions: end offset minus the group's committed offset (from the broker)."""

    def __init__(self, app: faust.App, bootstrap_servers: str, topic: str):
        self._app = app
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._admin: AIOKafkaAdminClient | None = None

    async def measure(self) -> None:
        """Refresh the gauge; partitions that moved to another worker are dropped from it."""
        consumer = self._app.consumer
        try:
            mine = [tp for tp in consumer.assignment() if tp.topic == self._topic]
        except (AttributeError, RuntimeError):  # the consumer is (re)starting
            return
        if self._admin is None:
            self._admin = AIOKafkaAdminClient(**client_config(self._bootstrap, client_id="routing-lag"))
            await self._admin.start()
        committed = await self._admin.list_consumer_group_offsets(self._app.conf.id)
        metrics.CONSUMER_LAG.clear()
        for tp in mine:
            highwater = consumer.highwater(tp)
            offset = committed.get(TopicPartition(tp.topic, tp.partition))
            if highwater is not None:
                done = offset.offset if offset is not None and offset.offset >= 0 else 0
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - done))

    async def close(self) -> None:
        """Close the admin client."""
        if self._admin is not None:
            await self._admin.close()
