"""referral.created.v1 as outbox bytes straight from a `Referral`: the hot path of routing a flood.

The contract's pydantic models build, validate and encode such an event in about 60 µs, and routing makes about
two per concern, from values that are valid already (the concern event passed the contract, the rules document
passed its schema, the domain built the rest). This writes the same JSON with msgspec in a few µs.
tests/unit/test_routing_wire.py holds it byte for byte to `encode(created_envelope(...))` over every rule of the
default rules, and to the contract's `decode`; the re-routes of a rejection still take the contract path.
"""

from typing import Any

import msgspec

from services.routing.domain import ids
from services.routing.domain.referral import Referral
from shared.contracts.referrals import ReferralCreated
from shared.outbox import OutboxRecord

_ENCODE = msgspec.json.Encoder().encode
_CREATED = ReferralCreated.event_type


def created_record(referral: Referral, source: str) -> OutboxRecord:
    """referral.created.v1 of a new referral, keyed by its subject, with its deterministic event id."""
    r = referral
    data: dict[str, Any] = {
        "referral_id": r.referral_id,
        "concern_id": r.concern_id,
        "subject_key": r.subject_key,
        "target": r.target.value,
        "recipient_id": r.recipient_id,
        "organisation_id": r.organisation_id,
        "department_id": r.department_id,
        "municipality_code": r.municipality_code,
        "categories": [c.value for c in r.categories],
        "severity": r.severity.value,
        "urgent": r.urgent,
        "repeated": r.repeated,
        "legal_basis": r.legal_basis.value,
        "disclosure": r.disclosure.value,
        "task": r.task.value,
    }
    if r.suggested_function is not None:
        data["suggested_function"] = r.suggested_function
    data["rules_version"] = r.rules_version
    data["rule_id"] = r.rule_id
    data["ack_due_at"] = r.ack_due_at
    data["created_at"] = r.created_at
    if r.replaces_referral_id is not None:
        data["replaces_referral_id"] = r.replaces_referral_id
    if r.underretning:
        data["underretning"] = True
    if r.receipt_due_at is not None:
        data["receipt_due_at"] = r.receipt_due_at
    event_id = ids.event_id(r.referral_id, "created")
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": _CREATED,
        "subject": r.subject_key,
        "time": r.created_at,
        "datacontenttype": "application/json",
        "data": data,
    }
    return OutboxRecord(r.subject_key, event_id, _CREATED, _ENCODE(envelope))
