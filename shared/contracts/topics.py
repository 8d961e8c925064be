"""Topic names and their keys (DESIGN.md, "Topics and events")."""

from typing import Final

CONCERN_INBOUND: Final = "concern-inbound"
"""Raw concerns from integrated housing systems; key: source system + external id."""
CONCERN_EVENTS: Final = "concern-events"
"""concern.reported.v1, concern.erased.v1; key: subject key."""
REFERRAL_EVENTS: Final = "referral-events"
"""referral.* events; key: subject key."""
NOTIFICATION_EVENTS: Final = "notification-events"
"""notification.* events; key: subscription id."""
API_CLIENTS: Final = "api-clients"
"""Compacted registry of API clients (token hashes only); key: client id."""
REFERENCE_DATA: Final = "reference-data"
"""Compacted snapshot of the reference directory (departments, recipients, municipalities); key: `directory`."""

DLQ_SUFFIX: Final = ".dlq"

EVENT_TOPICS: Final = (CONCERN_INBOUND, CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS)
"""Topics that carry events and therefore have a dead-letter topic."""


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return topic + DLQ_SUFFIX


def inbound_key(system: str, external_id: str) -> str:
    """The key of a concern-inbound message: source system + external id."""
    return f"{system}:{external_id}"
