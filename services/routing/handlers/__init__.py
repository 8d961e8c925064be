"""Handlers of the routing service: event type -> handler, one literal table."""

from services.routing.handlers.concerns import apply_concern_events
from shared.contracts.concerns import ConcernErased, ConcernReported

EVENT_HANDLERS = {
    ConcernReported.event_type: apply_concern_events,
    ConcernErased.event_type: apply_concern_events,
}
"""Events this service applies (batched: one handler takes a batch of both types, in order).

A type with no handler is dead-lettered, to be replayed once it has one."""

IGNORED_EVENTS: frozenset[str] = frozenset()
"""Event types this service reads but deliberately does not act on."""
