"""The directory a service holds: the newest snapshot of the reference-data topic, and who to tell of a new one."""

import asyncio
from collections.abc import Callable

from shared.contracts.reference import ReferenceDirectory
from shared.logging import get_logger

log = get_logger(__name__)

Listener = Callable[[ReferenceDirectory], None]


class ReferenceHolder:
    """The current directory (None until the first snapshot arrives); listeners rebuild what they derive from it."""

    def __init__(self, directory: ReferenceDirectory | None = None) -> None:
        self._listeners: list[Listener] = []
        self._loaded = asyncio.Event()
        self.directory: ReferenceDirectory | None = None
        if directory is not None:
            self.apply(directory)

    @property
    def loaded(self) -> bool:
        """Whether a directory is held."""
        return self.directory is not None

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every new directory (at once, when one is held already)."""
        self._listeners.append(listener)
        if self.directory is not None:
            listener(self.directory)

    def apply(self, directory: ReferenceDirectory) -> None:
        """Hold a snapshot; a snapshot of the version already held changes nothing."""
        if self.directory is not None and self.directory.version == directory.version:
            return
        self.directory = directory
        for listener in self._listeners:
            listener(directory)
        self._loaded.set()
        log.info("reference_data_applied", version=directory.version[:12])

    def require(self) -> ReferenceDirectory:
        """The directory held; LookupError before the first snapshot."""
        if self.directory is None:
            raise LookupError("no reference directory yet")
        return self.directory

    async def wait(self, timeout: float | None = None) -> ReferenceDirectory:
        """The directory, waiting for the first snapshot for up to `timeout` seconds (TimeoutError)."""
        await asyncio.wait_for(self._loaded.wait(), timeout)
        return self.require()
