"""Handlers of the routing service: event type -> handler, one literal table (filled as features land)."""

from shared.kafka.dispatch import Handler

EVENT_HANDLERS: dict[str, Handler] = {}
"""Events this service applies. A type with no handler is dead-lettered, to be replayed once it has one."""

IGNORED_EVENTS: frozenset[str] = frozenset()
"""Event types this service reads but deliberately does not act on."""
