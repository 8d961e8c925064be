"""Handlers of the routing service: event type -> handler, one literal table."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from services.routing.handlers.concerns import apply_concern_events
from services.routing.handlers.deps import Deps
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope
from shared.kafka.pipeline import ApplyBatch

EVENT_HANDLERS: dict[str, Callable[[Deps, list[Envelope]], Awaitable[Any]]] = {
    ConcernReported.event_type: apply_concern_events,
    ConcernErased.event_type: apply_concern_events,
}
"""Events this service applies. A type with no handler is dead-lettered, to be replayed once it has one.

One handler takes reports and erasures together, in order, in one transaction per batch: an erasure between two
reports of a batch must not cost the batch two more transactions (see shared/kafka/pipeline.py, dispatch)."""

IGNORED_EVENTS: frozenset[str] = frozenset()
"""Event types this service reads but deliberately does not act on."""


def bind(deps: Deps | None) -> dict[str, ApplyBatch]:
    """The table with `deps` given to each handler; a handler named for several types stays one handler."""
    bound = {handler: partial(handler, deps) for handler in set(EVENT_HANDLERS.values())}
    return {kind: bound[handler] for kind, handler in EVENT_HANDLERS.items()}
