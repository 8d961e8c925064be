"""Thin bodies for webhooks, feed items and e-mails: ids, categories, severity, due times and links; no people."""

import json
from dataclasses import dataclass
from typing import Any

from services.notify.domain.scope import EventScope
from shared.contracts.envelope import Envelope

# Kept back from subscribers: the tenancy pseudonym (it would let a recipient link concerns it was not
# sent) and routing's internals.
_HIDDEN = frozenset({"subject_key", "rules_version", "rule_id"})


@dataclass(frozen=True)
class Links:
    """Public base URLs of the APIs the links in bodies point to."""

    routing_url: str
    intake_url: str

    def of(self, data: dict[str, Any]) -> dict[str, str]:
        """Links back to the API for a referral event's data."""
        links: dict[str, str] = {}
        if "referral_id" in data:
            links["referral"] = f"{self.routing_url.rstrip('/')}/v1/referrals/{data['referral_id']}"
        if "concern_id" in data:
            links["concern"] = f"{self.intake_url.rstrip('/')}/v1/concerns/{data['concern_id']}"
        return links


def thin_data(event: Envelope[Any], links: Links) -> dict[str, Any]:
    """The event's data as subscribers get it: without hidden fields, with its id and links back to the API."""
    data = event.data.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=_HIDDEN)
    return {"event_id": event.id, **data, "links": links.of(data)}


def webhook_body(event: Envelope[Any], links: Links) -> str:
    """The Standard Webhooks payload (`type`, `timestamp`, `data`), serialised once so retries send the same bytes."""
    payload = {"type": event.type, "timestamp": event.time.isoformat(), "data": thin_data(event, links)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def event_scope(event: Envelope[Any]) -> EventScope:
    """The parts of a referral event that decide who may see it."""
    data = event.data
    return EventScope(
        event_type=event.type,
        target=str(data.target),
        municipality_code=data.municipality_code,
        department_id=data.department_id,
    )
