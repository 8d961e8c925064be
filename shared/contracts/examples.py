"""Realistic, fictional examples of every message: for tests, demos and the generated docs."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.clients import ApiClientRecord, encode_api_client
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import Envelope, encode, make_event
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.notifications import NotificationDelivered, NotificationFailed
from shared.contracts.reference import ReferenceContent, ReferenceDirectory, encode_directory
from shared.contracts.referrals import (
    ReferralCreated,
    ReferralEscalated,
    ReferralSlaBreached,
    ReferralStatusChanged,
    ReferralSuggested,
    ReferralSuggestionDecided,
)
from shared.subject_key import subject_key

DOCS_SEED = "docs"
"""Seed of the examples in the generated documents."""

_FIXED_TIME = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)  # a Tuesday morning
_ORGANISATION = "org-lejerbo"
_DEPARTMENT = "dep-0316-017"  # a fictional estate in Holbæk
_MUNICIPALITY = "0316"
_INTAKE, _ROUTING, _NOTIFY = "/services/intake", "/services/routing", "/services/notify"


class _Ids:
    """Fresh uuid4 ids, or with a seed the same ids on every call."""

    def __init__(self, seed: str | None):
        self._seed = seed

    def __call__(self, label: str) -> str:
        if self._seed is None:
            return str(uuid.uuid4())
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:crp-example:{self._seed}:{label}"))


def _start(seed: str | None) -> datetime:
    # Unseeded examples lie in the recent past, so every time in them is before now.
    return _FIXED_TIME if seed is not None else datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


def example_events(seed: str | None = None) -> list[Envelope[Any]]:
    """One event of every CloudEvent type; fresh ids each call, or fixed ids and times with a seed."""
    ids, t0 = _Ids(seed), _start(seed)
    key = subject_key("example-secret-not-for-use", _ORGANISATION, tenancy_id="17-0042", department_id=_DEPARTMENT)
    concern_id, referral_id, consultant_referral_id = ids("concern"), ids("referral"), ids("referral-2")
    place = {"department_id": _DEPARTMENT, "municipality_code": _MUNICIPALITY}
    reported = ConcernReported(
        concern_id=concern_id,
        organisation_id=_ORGANISATION,
        subject_key=key,
        **place,
        categories=("rent_arrears", "eviction_risk"),
        severity="high",
        consent="not_asked",
        legal_basis="statutory_duty",
        observed_at=t0 - timedelta(days=2),
        reported_at=t0,
        reporter_role="administration",
        channel="inbound",
        source_system="lettings-system",
        has_reporter_contact=True,
        has_resident_details=True,
        hints=("possible_eviction",),
        children_in_household="no",
    )
    created = ReferralCreated(
        referral_id=referral_id,
        concern_id=concern_id,
        subject_key=key,
        target="municipality",
        recipient_id="mun-0316-single-entry",
        organisation_id=_ORGANISATION,
        **place,
        categories=("rent_arrears", "eviction_risk"),
        severity="high",
        urgent=False,
        repeated=False,
        legal_basis="statutory_duty",
        disclosure="full",
        task="act",
        suggested_function="eviction_prevention",
        rules_version=3,
        rule_id="rent_arrears_eviction_risk",
        ack_due_at=t0 + timedelta(days=1),
        created_at=t0 + timedelta(seconds=2),
    )
    completed = ReferralStatusChanged(
        referral_id=referral_id,
        concern_id=concern_id,
        target="municipality",
        **place,
        from_status="in_progress",
        to_status="completed",
        outcome="eviction_avoided",
        changed_by_role="municipality",
        changed_at=t0 + timedelta(days=12),
    )
    clock = {
        "referral_id": consultant_referral_id,
        "concern_id": concern_id,
        "target": "consultant",
        "recipient_id": "con-lejerbo-holbaek",
        "severity": "high",
        "ack_due_at": t0 + timedelta(days=1),
        **place,
    }
    breached = ReferralSlaBreached(**clock, breached_at=t0 + timedelta(days=1, minutes=1))
    escalated = ReferralEscalated(
        **clock, escalation_contact_id="con-lejerbo-lead", escalated_at=t0 + timedelta(days=2, minutes=1)
    )
    subscription, webhook_event = ids("subscription"), ids("event-referral-created")
    delivery = {
        "delivery_id": ids("delivery"),
        "channel": "webhook",
        "subscription_id": subscription,
        "event_id": webhook_event,
        "event_type": ReferralCreated.event_type,
        "referral_id": referral_id,
        "municipality_code": _MUNICIPALITY,
    }
    failed = NotificationFailed(
        **delivery,
        attempts=1,
        reason="http_5xx",
        final=False,
        failed_at=t0 + timedelta(seconds=3),
    )
    delivered = NotificationDelivered(
        **delivery,
        attempts=2,
        latency_ms=31_400,
        delivered_at=t0 + timedelta(seconds=33),
    )
    erased = ConcernErased(concern_id=concern_id, subject_key=key, erased_at=t0 + timedelta(days=20))
    suggestion = {
        "suggestion_id": ids("suggestion"),
        "concern_id": concern_id,
        "hint": "possible_hoarding",
        "target": "consultant",
        "recipient_id": "con-lejerbo-holbaek",
        **place,
    }
    suggested = ReferralSuggested(
        **suggestion, organisation_id=created.organisation_id, rule_id="ability_to_live", suggested_at=t0
    )
    decided = ReferralSuggestionDecided(
        **suggestion,
        decision="confirmed",
        decided_by_role="consultant",
        decided_at=t0 + timedelta(hours=2),
        referral_id=ids("suggested-referral"),
    )
    return [
        make_event(reported, source=_INTAKE, subject=key, id=ids("event-concern-reported"), time=t0),
        make_event(erased, source=_INTAKE, subject=key, id=ids("event-concern-erased"), time=erased.erased_at),
        make_event(created, source=_ROUTING, subject=key, id=webhook_event, time=created.created_at),
        make_event(completed, source=_ROUTING, subject=key, id=ids("event-status"), time=completed.changed_at),
        make_event(breached, source=_ROUTING, subject=key, id=ids("event-breach"), time=breached.breached_at),
        make_event(escalated, source=_ROUTING, subject=key, id=ids("event-escalation"), time=escalated.escalated_at),
        make_event(suggested, source=_ROUTING, subject=key, id=ids("event-suggested"), time=suggested.suggested_at),
        make_event(decided, source=_ROUTING, subject=key, id=ids("event-suggestion-decided"), time=decided.decided_at),
        make_event(
            delivered, source=_NOTIFY, subject=subscription, id=ids("event-delivered"), time=delivered.delivered_at
        ),
        make_event(failed, source=_NOTIFY, subject=subscription, id=ids("event-failed"), time=failed.failed_at),
    ]


def example_inbound(seed: str | None = None) -> InboundConcern:
    """A raw concern as a fictional lettings system sends it (its payload is in that system's format)."""
    ids, t0 = _Ids(seed), _start(seed)
    return InboundConcern(
        system="lettings-system",
        external_id="RA-" + ids("inbound")[:8],
        sent_at=t0,
        payload={
            "afdeling": "017",
            "lejemaal": "17-0042",
            "sagstype": "restance",
            "beloeb_dkk": 18_450,
            "bemaerkning": "Tredje rykker uden svar. Fiktivt eksempel.",
        },
    )


def example_api_client(seed: str | None = None) -> ApiClientRecord:
    """A municipality client record (the token behind the hash is a throwaway example)."""
    ids, t0 = _Ids(seed), _start(seed)
    return ApiClientRecord(
        client_id="cli_" + ids("client").replace("-", "")[:16],
        name="Holbæk Kommune, single entry (example)",
        role="municipality",
        municipality_code=_MUNICIPALITY,
        token_sha256=hashlib.sha256(b"crp_example-token-not-for-use").hexdigest(),
        created_at=t0,
        expires_at=t0 + timedelta(days=365),
    )


def example_directory() -> ReferenceDirectory:
    """A one-department directory (fictional demo names and addresses)."""
    return ReferenceContent.model_validate(
        {
            "organisations": [
                {
                    "id": "org-demo",
                    "name": "Boligselskabet Vestsjælland (demo)",
                    "departments": [
                        {
                            "id": _DEPARTMENT,
                            "name": "Ladegårdsparken (demo), Holbæk",
                            "municipality_code": _MUNICIPALITY,
                            "tenancies": 412,
                            "consultants": ["consultant-holbaek"],
                        }
                    ],
                }
            ],
            "recipients": {
                "consultant-holbaek": {
                    "name": "Boligsocial konsulent, Holbæk og Høng (demo)",
                    "kind": "consultant",
                    "email": "boligsocial.holbaek@example.dk",
                    "escalation_contact": "escalation-consultant-holbaek",
                },
                "escalation-consultant-holbaek": {
                    "name": "Leder af boligsocialt team, Holbæk (demo)",
                    "kind": "escalation_contact",
                    "email": "boligsocial.leder.holbaek@example.dk",
                },
                "municipality-0316": {"name": "Holbæk Kommune, én indgang (demo)", "kind": "single_entry"},
            },
            "municipalities": {_MUNICIPALITY: {"name": "Holbæk", "single_entry": "municipality-0316"}},
        }
    ).directory()


def documented_examples() -> dict[str, dict[str, Any]]:
    """The seeded examples as JSON values, by event type, plus the plain records (inbound, api client, directory)."""
    examples = {event.type: json.loads(encode(event)) for event in example_events(DOCS_SEED)}
    examples["inbound-concern"] = json.loads(encode_inbound(example_inbound(DOCS_SEED)))
    examples["api-client-record"] = json.loads(encode_api_client(example_api_client(DOCS_SEED)))
    examples["reference-directory"] = json.loads(encode_directory(example_directory()))
    return examples
