"""Keeps the backlog gauge (pending deliveries per subscription) up to date."""

import asyncio

import asyncpg

from services.notify.adapters.delivery_log import DeliveryLog
from services.notify.metrics import BACKLOG
from shared.logging import get_logger

log = get_logger(__name__)


async def refresh_backlog(deliveries: DeliveryLog, shown: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Set the gauge from the database; targets with nothing pending any more disappear."""
    counts = await deliveries.backlog()
    for labels, pending in counts.items():
        BACKLOG.labels(*labels).set(pending)
    for labels in shown - set(counts):
        BACKLOG.remove(*labels)
    return set(counts)


async def run_backlog_gauge(deliveries: DeliveryLog, every_s: float) -> None:
    """Refresh until cancelled."""
    shown: set[tuple[str, str]] = set()
    while True:
        try:
            shown = await refresh_backlog(deliveries, shown)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("backlog_refresh_failed", error=type(error).__name__)
        await asyncio.sleep(every_s)
