"""Handlers of the notify service: event type -> planner, one literal table; `apply_batch` runs them."""

from collections.abc import Callable
from typing import Any

from services.notify.handlers.events import Batch, plan_concern_erased, plan_concern_reported, plan_referral_event
from shared.contracts.envelope import Envelope


def plan_nothing(event: Envelope[Any], batch: Batch) -> None:
    """Read and acknowledged, nothing sent."""


EVENT_HANDLERS: dict[str, Callable[[Envelope[Any], Batch], None]] = {
    "referral.created.v1": plan_referral_event,
    "referral.status_changed.v1": plan_referral_event,
    "referral.sla_breached.v1": plan_referral_event,
    "referral.escalated.v1": plan_referral_event,
    # Read for reporter receipts (DESIGN.md lists routing and stats as readers of concern-events; notify
    # reads it too, for the receipt and to forget a reporter on erasure).
    "concern.reported.v1": plan_concern_reported,
    "concern.erased.v1": plan_concern_erased,
    # A suggestion is the consultant's decision in routing (no webhook, no e-mail); a confirmed one arrives as
    # its referral.created.v1.
    "referral.suggested.v1": plan_nothing,
    "referral.suggestion_decided.v1": plan_nothing,
}
"""Events this service applies. A type with no handler is dead-lettered, to be replayed once it has one."""
