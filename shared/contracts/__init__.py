"""Event contracts: the CloudEvents envelope, every event of DESIGN.md, topics and keys."""

from shared.contracts.clients import ApiClientRecord, decode_api_client, encode_api_client
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope, decode, encode, make_event
from shared.contracts.errors import ContractError
from shared.contracts.events import EventData
from shared.contracts.inbound import InboundConcern, decode_inbound, encode_inbound
from shared.contracts.notifications import NotificationDelivered, NotificationFailed
from shared.contracts.referrals import (
    ReferralCreated,
    ReferralEscalated,
    ReferralSlaBreached,
    ReferralStatusChanged,
    ReferralSuggested,
    ReferralSuggestionDecided,
)
from shared.contracts.registry import EVENT_MODELS, EVENT_TYPES, TOPIC_EVENTS
from shared.contracts.vocabulary import (
    ActorRole,
    Category,
    ClientRole,
    Consent,
    Disclosure,
    IntakeChannel,
    LegalBasis,
    NotificationChannel,
    Outcome,
    ReferralStatus,
    ReferralTarget,
    RejectReason,
    ReporterRole,
    Severity,
    Task,
)

__all__ = [
    "EVENT_MODELS",
    "EVENT_TYPES",
    "TOPIC_EVENTS",
    "ActorRole",
    "ApiClientRecord",
    "Category",
    "ClientRole",
    "ConcernErased",
    "ConcernReported",
    "Consent",
    "ContractError",
    "Disclosure",
    "Envelope",
    "EventData",
    "InboundConcern",
    "IntakeChannel",
    "LegalBasis",
    "NotificationChannel",
    "NotificationDelivered",
    "NotificationFailed",
    "Outcome",
    "ReferralCreated",
    "ReferralEscalated",
    "ReferralSlaBreached",
    "ReferralStatusChanged",
    "ReferralSuggested",
    "ReferralSuggestionDecided",
    "ReferralStatus",
    "ReferralTarget",
    "RejectReason",
    "ReporterRole",
    "Severity",
    "Task",
    "decode",
    "decode_api_client",
    "decode_inbound",
    "encode",
    "encode_api_client",
    "encode_inbound",
    "make_event",
]
