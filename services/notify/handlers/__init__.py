"""Handlers of the notify service: event type -> handler, one literal table; bootstrap binds their deps."""

from collections.abc import Awaitable, Callable

from services.notify.handlers.events import on_concern_erased, on_concern_reported, on_referral_event

EVENT_HANDLERS: dict[str, Callable[..., Awaitable[None]]] = {
    "referral.created.v1": on_referral_event,
    "referral.status_changed.v1": on_referral_event,
    "referral.sla_breached.v1": on_referral_event,
    "referral.escalated.v1": on_referral_event,
    # Read for reporter receipts (DESIGN.md lists routing and stats as readers of concern-events; notify
    # reads it too, for the receipt and to forget a reporter on erasure).
    "concern.reported.v1": on_concern_reported,
    "concern.erased.v1": on_concern_erased,
}
"""Events this service applies. A type with no handler is dead-lettered, to be replayed once it has one."""

IGNORED_EVENTS: frozenset[str] = frozenset()
"""Event types this service reads but deliberately does not act on."""
