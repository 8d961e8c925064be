"""Which data model each CloudEvent type has, and which event types each topic carries."""

from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.events import EventData
from shared.contracts.notifications import NotificationDelivered, NotificationFailed
from shared.contracts.referrals import (
    ReferralCreated,
    ReferralEscalated,
    ReferralSlaBreached,
    ReferralStatusChanged,
    ReferralSuggested,
    ReferralSuggestionDecided,
)
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS

EVENT_MODELS: tuple[type[EventData], ...] = (
    ConcernReported,
    ConcernErased,
    ReferralCreated,
    ReferralStatusChanged,
    ReferralSlaBreached,
    ReferralEscalated,
    ReferralSuggested,
    ReferralSuggestionDecided,
    NotificationDelivered,
    NotificationFailed,
)
"""Every CloudEvent data model, in the order of DESIGN.md."""

EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in EVENT_MODELS}
"""CloudEvents `type` -> data model."""

TOPIC_EVENTS: dict[str, list[type[EventData]]] = {
    topic: [model for model in EVENT_MODELS if model.topic == topic]
    for topic in (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS)
}
"""CloudEvent topic -> the data models it carries (concern-inbound and api-clients carry no CloudEvents)."""
