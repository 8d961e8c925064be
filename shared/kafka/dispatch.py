"""One literal table of handlers per service: event type -> handler (cosmicpython's message bus)."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from shared.kafka.errors import UnhandledEvent, event_type_of

Handler = Callable[[Any], Awaitable[None]]


class Dispatcher:
    """Calls the handler registered for an event's type; types listed as ignored are acknowledged."""

    def __init__(self, handlers: Mapping[str, Handler], ignored: frozenset[str] = frozenset()):
        self._handlers = dict(handlers)
        self._ignored = ignored

    async def __call__(self, event: object) -> None:
        kind = event_type_of(event)
        handler = self._handlers.get(kind)
        if handler is not None:
            await handler(event)
        elif kind not in self._ignored:
            raise UnhandledEvent(f"no handler for {kind}")
