"""Events about notifications, written by notify to the notification-events topic."""

from typing import Annotated

from pydantic import Field

from shared.contracts.events import Code, EntityId, EventData, EventType, MunicipalityCode, UtcDatetime
from shared.contracts.text import Line
from shared.contracts.topics import NOTIFICATION_EVENTS
from shared.contracts.vocabulary import NotificationChannel

Attempts = Annotated[int, Field(ge=1)]
EventId = Annotated[Line, Field(min_length=1, max_length=128)]


class NotificationAttempt(EventData):
    """What the delivery events share: the delivery, the event it carries and the attempts (not an event)."""

    delivery_id: EntityId
    """The delivery in notify."""
    channel: NotificationChannel
    """How the notification went out."""
    subscription_id: EntityId | None = None
    """The subscription it was for; absent for e-mails and receipts; the Kafka key when present."""
    event_id: EventId
    """CloudEvents `id` of the event the notification carries."""
    notified_event_type: EventType = Field(alias="event_type")
    """CloudEvents `type` of the event the notification carries (`event_type` on the wire)."""
    referral_id: EntityId | None = None
    """The referral the event was about, if any."""
    municipality_code: MunicipalityCode | None = None
    """The recipient municipality's 4-digit code, for webhooks and feeds of a municipality."""
    attempts: Attempts
    """Attempts so far, this one included."""


class NotificationDelivered(NotificationAttempt):
    """A notification reached its recipient (webhook answered 2xx, e-mail accepted, feed served)."""

    event_type = "notification.delivered.v1"
    topic = NOTIFICATION_EVENTS

    latency_ms: Annotated[int, Field(ge=0)]
    """Milliseconds from the event's time to the successful delivery."""
    delivered_at: UtcDatetime
    """When the delivery succeeded."""


class NotificationFailed(NotificationAttempt):
    """A delivery attempt failed; `final` says whether notify gave up (dead-letter state, ops can redeliver)."""

    event_type = "notification.failed.v1"
    topic = NOTIFICATION_EVENTS

    reason: Code
    """Why it failed: http_4xx, http_5xx, http_410, timeout, connection_error, smtp_error, ..."""
    final: bool
    """True when notify stopped retrying (410 Gone, or retries exhausted)."""
    failed_at: UtcDatetime
    """When the attempt failed."""
