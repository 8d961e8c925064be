"""The views of notify's API: every request body and response shape, in one place."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notify.adapters.subscriptions import SubscriptionRecord
from shared.contracts.text import Line

ReferralEventType = Literal[
    "referral.created.v1", "referral.status_changed.v1", "referral.sla_breached.v1", "referral.escalated.v1"
]
DeliveryState = Literal["pending", "delivered", "dead", "cancelled"]


class SubscriptionIn(BaseModel):
    """A new subscription."""

    model_config = ConfigDict(extra="forbid")

    url: Line = Field(..., min_length=1, max_length=2048, description="https URL that receives the webhooks.")
    event_types: list[ReferralEventType] = Field(..., min_length=1, max_length=4)
    description: Line | None = Field(None, max_length=200, description="Your own label for it.")


class SubscriptionOut(BaseModel):
    """A subscription as its owner sees it (never its secret)."""

    id: str
    url: str
    event_types: list[str]
    description: str | None
    state: Literal["active", "disabled"]
    disabled_reason: str | None = Field(None, description="`gone` (the receiver answered 410) or `failing`.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: SubscriptionRecord) -> "SubscriptionOut":
        """From the stored record."""
        return cls(
            **{k: getattr(record, k) for k in cls.model_fields if k != "event_types"},
            event_types=list(record.event_types),
        )


class SubscriptionCreated(SubscriptionOut):
    """The new subscription with its signing secret: shown this once, keep it safe."""

    secret: str = Field(..., description="Standard Webhooks signing secret (`whsec_...`); it is not shown again.")


class SubscriptionPage(BaseModel):
    """A page of subscriptions."""

    items: list[SubscriptionOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    """A delivery and its attempts so far; no addresses (e-mail recipients by id, reporters as `reporter`)."""

    id: str
    channel: Literal["webhook", "email"]
    subscription_id: str | None
    recipient_id: str | None
    event_id: str
    event_type: str
    referral_id: str | None
    concern_id: str | None = Field(None, description="The concern (intake's id), e.g. for a reporter's receipt.")
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None = Field(None, description="When the next attempt is due (pending only).")
    last_reason: str | None = Field(None, description="Why the last attempt failed: http_5xx, timeout, ...")
    last_status: int | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    """A page of deliveries, oldest first."""

    items: list[DeliveryOut]
    next_cursor: str | None


class FeedItem(BaseModel):
    """One referral event, with the same thin `data` as a webhook body."""

    cursor: str = Field(..., description="Pass as `after` to continue after this item.")
    id: str = Field(..., description="The event's id; de-duplicate on it.")
    type: str
    time: datetime
    data: dict[str, Any]


class FeedPage(BaseModel):
    """Events in order; poll again with `next_cursor` (it is returned also when the page is empty)."""

    items: list[FeedItem]
    next_cursor: str
