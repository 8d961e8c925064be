"""The notify domain's data: deliveries, their states, one attempt's result and what follows from it."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DeliveryState(StrEnum):
    """Where a delivery stands; `dead` is the dead-letter state that ops can redeliver."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"


class Channel(StrEnum):
    """How a delivery goes out (the feed is pulled, not delivered)."""

    WEBHOOK = "webhook"
    EMAIL = "email"


class AttemptKind(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"
    RETRY = "retry"  # transient: 5xx, 429, timeout, connection refused, SMTP 4xx ...
    PERMANENT = "permanent"  # retrying cannot help: SMTP 5xx, unknown recipient
    GONE = "gone"  # 410 Gone: the receiver asks us to stop; the subscription is disabled
    CANCELLED = "cancelled"  # nothing to deliver to any more: subscription deleted, reporter gave no contact


@dataclass(frozen=True)
class AttemptResult:
    """One attempt's result: a machine reason code (None when delivered), HTTP status, Retry-After."""

    kind: AttemptKind
    reason: str | None = None
    status: int | None = None
    retry_after_s: float | None = None

    @classmethod
    def ok(cls, status: int | None = None) -> "AttemptResult":
        """A successful attempt."""
        return cls(AttemptKind.DELIVERED, None, status)


@dataclass(frozen=True)
class Decision:
    """What follows from an attempt: the new state, when to try again, and whether to give up for good."""

    state: DeliveryState
    next_attempt_at: datetime | None = None
    final: bool = False
    disable_subscription: str | None = None


@dataclass(frozen=True)
class PlannedDelivery:
    """A delivery the consumer writes for one event: to a subscription's URL or to an e-mail recipient."""

    id: str
    channel: Channel
    target_key: str
    event_id: str
    event_type: str
    event_time: datetime
    body: str
    subscription_id: str | None = None
    recipient_id: str | None = None
    template: str | None = None
    concern_id: str | None = None
    referral_id: str | None = None
    municipality_code: str | None = None
