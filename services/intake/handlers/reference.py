"""intake as the owner of the reference directory: store a change, keep the topic and every process in step."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from services.intake.handlers.deps import Deps
from shared.contracts.reference import ReferenceDirectory
from shared.logging import get_logger

log = get_logger(__name__)

Publish = Callable[[ReferenceDirectory], Awaitable[None]]
"""Writes a snapshot to the reference-data topic and waits for the broker's acknowledgement."""


class ReferenceKeeper:
    """Publishes the stored directory until the broker has it, and reloads what another intake process stored.

    Nothing is lost: the snapshot is in the database before anything is published; a failed publish is retried
    here (and by the next start, which publishes once whatever the database says).
    """

    def __init__(self, deps: Deps, publish: Publish, interval_s: float = 5.0):
        self._deps = deps
        self._publish = publish
        self._interval_s = interval_s
        self._wake = asyncio.Event()
        self._published_once = False

    def wake(self) -> None:
        """Sync now (after a change)."""
        self._wake.set()

    async def run(self) -> None:
        """Sync every interval, or at once when woken; errors are logged and retried."""
        delay = self._interval_s
        while True:
            try:
                await self.sync()
                delay = self._interval_s
            except Exception as error:  # noqa: BLE001 - the database or the broker may be away; retried
                log.warning("reference_data_sync_failed", error=type(error).__name__, retry_in_s=delay)
                delay = min(delay * 2, 60.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def sync(self) -> None:
        """Reload a directory stored by another process; publish the stored one unless the broker has it."""
        async with self._deps.unit_of_work() as uow:
            found = await uow.reference.stored()
            if found is None:
                return
            directory, published = found
            if directory.version != self._deps.directory.version:
                self._deps.directory.replace(await uow.reference.departments(), directory.version)
        if published != directory.version or not self._published_once:
            await self._publish(directory)
            async with self._deps.unit_of_work() as uow:
                await uow.reference.mark_published(directory.version)
            self._published_once = True
            log.info("reference_data_published", version=directory.version[:12])


async def change_directory(deps: Deps, directory: ReferenceDirectory, *, changed_by: str) -> None:
    """Store a new directory (the file's version stays, so a restart keeps this change) and use it here."""
    async with deps.unit_of_work() as uow:
        await uow.reference.store(directory, updated_by=changed_by)
        departments = await uow.reference.departments()
    deps.directory.replace(departments, directory.version)
    log.info("reference_data_changed", version=directory.version[:12], departments=len(departments))
