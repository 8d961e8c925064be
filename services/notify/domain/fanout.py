"""Which deliveries one event makes: a webhook per matching subscription, e-mails to consultants and reporters."""

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from services.notify.domain.model import Channel, PlannedDelivery
from services.notify.domain.payloads import Links, event_scope, thin_data, webhook_body
from services.notify.domain.scope import SubscriberScope, matches
from shared.contracts.envelope import Envelope
from shared.contracts.vocabulary import ClientRole, ReferralStatus, ReferralTarget

_NAMESPACE = uuid.UUID("5d1c5f0e-8a43-4f7e-9a55-0c6f3b2d9e71")
REPORTER = "reporter"

# What a reporter hears about a referral, within confidentiality: that someone took the concern on, and
# that it was closed; never the outcome, a rejection or who handles it.
REPORTER_MILESTONES = {ReferralStatus.ACCEPTED: "in_progress", ReferralStatus.COMPLETED: "closed"}


@dataclass(frozen=True)
class SubscriptionView:
    """What fan-out needs of an active subscription."""

    id: str
    client_id: str
    event_types: frozenset[str]


def delivery_id(*parts: str) -> str:
    """Deterministic id: a replayed event makes the same delivery, which the database then ignores."""
    return str(uuid.uuid5(_NAMESPACE, "|".join(parts)))


def webhook_deliveries(
    event: Envelope[Any],
    subscriptions: Iterable[SubscriptionView],
    scope_of: Callable[[str], SubscriberScope | None],
    links: Links,
) -> list[PlannedDelivery]:
    """One webhook delivery per subscription that wants this type and whose client's scope covers the event."""
    where = event_scope(event)
    body: str | None = None
    planned = []
    for subscription in subscriptions:
        scope = scope_of(subscription.client_id)
        if event.type not in subscription.event_types or scope is None or not matches(scope, where):
            continue
        body = body or webhook_body(event, links)
        planned.append(
            PlannedDelivery(
                id=delivery_id(subscription.id, event.id),
                channel=Channel.WEBHOOK,
                target_key=subscription.id,
                event_id=event.id,
                event_type=event.type,
                event_time=event.time,
                body=body,
                subscription_id=subscription.id,
                referral_id=event.data.referral_id,
                municipality_code=where.municipality_code if scope.role is ClientRole.MUNICIPALITY else None,
            )
        )
    return planned


def email_target(recipient_id: str, concern_id: str | None) -> str:
    """The concurrency target of an e-mail: one at a time per consultant, and per reporter's concern."""
    return f"email:{recipient_id}:{concern_id}" if recipient_id == REPORTER else f"email:{recipient_id}"


def _email(
    event: Envelope[Any], recipient_id: str, template: str, context: dict[str, Any], *key: str
) -> PlannedDelivery:
    concern_id = getattr(event.data, "concern_id", None)
    return PlannedDelivery(
        id=delivery_id(Channel.EMAIL, recipient_id, *key),
        channel=Channel.EMAIL,
        target_key=email_target(recipient_id, concern_id),
        event_id=event.id,
        event_type=event.type,
        event_time=event.time,
        body=json.dumps(context, ensure_ascii=False),
        recipient_id=recipient_id,
        template=template,
        concern_id=concern_id,
        referral_id=getattr(event.data, "referral_id", None),
    )


def consultant_emails(event: Envelope[Any], links: Links) -> list[PlannedDelivery]:
    """E-mails to the consultant: a new referral, a reminder at the due time, an escalation (also to the lead), a
    rejected referral of a concern that its open referral took over."""
    data = event.data
    if event.type == "referral.status_changed.v1" and data.merged_into_open:
        return _taken_over(event, links)
    if getattr(data, "target", None) != ReferralTarget.CONSULTANT:
        return []
    context = {"event_type": event.type, **thin_data(event, links)}
    if event.type == "referral.created.v1":
        return [_email(event, data.recipient_id, "referral_created", context, event.id)]
    if event.type == "referral.sla_breached.v1":
        return [_email(event, data.recipient_id, "referral_reminder", context, event.id)]
    if event.type == "referral.escalated.v1":
        to_recipient = _email(event, data.recipient_id, "referral_escalated", context, event.id)
        if data.escalation_contact_id == data.recipient_id:  # a re-route's referral to the contact itself: one e-mail
            return [to_recipient]
        return [
            _email(event, data.escalation_contact_id, "referral_escalated_contact", context, event.id),
            to_recipient,
        ]
    return []


def _taken_over(event: Envelope[Any], links: Links) -> list[PlannedDelivery]:
    """A consultant's open referral took a rejected one over (no second referral): it learns its task now."""
    data = event.data
    if data.rerouted_to_target != ReferralTarget.CONSULTANT or not data.rerouted_to_recipient_id:
        return []
    merged = {"referral_id": data.rerouted_to_referral_id, "concern_id": data.concern_id}
    context = {
        "event_type": event.type,
        **merged,
        "department_id": data.department_id,
        "municipality_code": data.municipality_code,
        "task": str(data.rerouted_task),
        "changed_at": data.changed_at.isoformat(),
        "links": links.of(merged),
    }
    return [_email(event, data.rerouted_to_recipient_id, "referral_taken_over", context, event.id)]


def reporter_receipt(event: Envelope[Any]) -> PlannedDelivery:
    """The receipt to a reporter who left a contact: its time and (added at sending, with the address, from intake)
    the receipt code; nothing about the resident."""
    data = event.data
    context = {"concern_id": data.concern_id, "reported_at": data.reported_at.isoformat()}
    return _email(event, REPORTER, "reporter_receipt", context, data.concern_id, "receipt")


def reporter_update(event: Envelope[Any]) -> PlannedDelivery | None:
    """A status update to the reporter at a milestone; once per concern and milestone, however many referrals."""
    data = event.data
    milestone = REPORTER_MILESTONES.get(data.to_status)
    if milestone is None:
        return None
    context = {"concern_id": data.concern_id, "milestone": milestone, "changed_at": data.changed_at.isoformat()}
    return _email(event, REPORTER, "reporter_status", context, data.concern_id, milestone)
