"""Which deliveries one event makes, with deterministic ids and thin bodies."""

import json

import pytest

from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.fanout import (
    SubscriptionView,
    consultant_emails,
    reporter_receipt,
    reporter_update,
    webhook_deliveries,
)
from services.notify.domain.payloads import Links
from services.notify.domain.scope import SubscriberScope
from shared.auth.principal import Role
from tests.support.notify_helpers import concern_reported, escalated, referral_created, sla_breached, status_changed

pytestmark = pytest.mark.unit

LINKS = Links("https://routing.example.dk", "https://intake.example.dk/")
ALL = frozenset({"referral.created.v1", "referral.status_changed.v1", "referral.escalated.v1"})
SCOPES = {
    "cli_holbaek": SubscriberScope(Role.MUNICIPALITY, municipality_code="0316"),
    "cli_kalundborg": SubscriberScope(Role.MUNICIPALITY, municipality_code="0326"),
}
SUBSCRIPTIONS = [
    SubscriptionView("11111111-1111-4111-8111-111111111111", "cli_holbaek", ALL),
    SubscriptionView("22222222-2222-4222-8222-222222222222", "cli_kalundborg", ALL),
    SubscriptionView("33333333-3333-4333-8333-333333333333", "cli_holbaek", frozenset({"referral.escalated.v1"})),
    SubscriptionView("44444444-4444-4444-8444-444444444444", "cli_revoked", ALL),
]


def test_one_webhook_per_subscription_in_scope_that_wants_the_type() -> None:
    created = referral_created("holbaek-2")
    planned = webhook_deliveries(created, SUBSCRIPTIONS, SCOPES.get, LINKS)
    assert [p.subscription_id for p in planned] == [SUBSCRIPTIONS[0].id]
    [delivery] = planned
    assert delivery.target_key == SUBSCRIPTIONS[0].id and delivery.municipality_code == "0316"
    # A replay of the event makes the same delivery id, which the database ignores.
    assert webhook_deliveries(created, SUBSCRIPTIONS, SCOPES.get, LINKS)[0].id == delivery.id
    other = webhook_deliveries(referral_created("holbaek-2"), SUBSCRIPTIONS, SCOPES.get, LINKS)[0]
    assert other.id != delivery.id


def test_the_body_is_thin_with_links_back_to_the_api() -> None:
    created = referral_created("hoeng-1")
    [delivery] = webhook_deliveries(created, SUBSCRIPTIONS, SCOPES.get, LINKS)
    body = json.loads(delivery.body)
    assert body["type"] == "referral.created.v1" and body["data"]["event_id"] == created.id
    assert {"subject_key", "rules_version", "rule_id"}.isdisjoint(body["data"])
    assert body["data"]["links"] == {
        "referral": f"https://routing.example.dk/v1/referrals/{created.data.referral_id}",
        "concern": f"https://intake.example.dk/v1/concerns/{created.data.concern_id}",
    }


def test_consultant_emails_for_new_reminded_and_escalated_referrals() -> None:
    created = referral_created("holbaek-1", target="consultant")
    assert [(p.recipient_id, p.template) for p in consultant_emails(created, LINKS)] == [
        ("consultant-holbaek", "referral_created")
    ]
    assert consultant_emails(sla_breached(created), LINKS)[0].template == "referral_reminder"
    assert [(p.recipient_id, p.template) for p in consultant_emails(escalated(created), LINKS)] == [
        ("escalation-consultant-holbaek", "referral_escalated_contact"),
        ("consultant-holbaek", "referral_escalated"),
    ]
    assert consultant_emails(referral_created("holbaek-1"), LINKS) == []  # a municipality's referral
    # A referral to the escalation contact itself (a re-route's) escalates to the same person: one e-mail, not two.
    own = referral_created("holbaek-1", target="consultant", recipient_id="escalation-consultant-holbaek")
    to_itself = escalated(own)
    to_itself = to_itself.model_copy(
        update={"data": to_itself.data.model_copy(update={"escalation_contact_id": own.data.recipient_id})}
    )
    assert [(p.recipient_id, p.template) for p in consultant_emails(to_itself, LINKS)] == [
        ("escalation-consultant-holbaek", "referral_escalated"),
    ]
    context = json.loads(consultant_emails(created, LINKS)[0].body)
    assert "subject_key" not in context and context["categories"] == ["rent_arrears", "eviction_risk"]


def test_a_consultant_whose_open_referral_took_a_rejected_one_over_hears_its_task_once() -> None:
    municipality = referral_created("holbaek-1")
    consultant = referral_created("holbaek-1", target="consultant")
    takeover = {
        "rerouted_to_referral_id": consultant.data.referral_id,
        "rerouted_to_target": "consultant",
        "rerouted_to_recipient_id": "consultant-holbaek",
        "rerouted_task": "act",
    }
    rejected = status_changed(
        municipality, "rejected", "received", reason="capacity", merged_into_open=True, **takeover
    )
    [mail] = consultant_emails(rejected, LINKS)
    assert (mail.recipient_id, mail.template) == ("consultant-holbaek", "referral_taken_over")
    context = json.loads(mail.body)
    assert (context["referral_id"], context["task"]) == (consultant.data.referral_id, "act")
    assert context["links"]["referral"].endswith(consultant.data.referral_id)
    subject, text = TemplateRenderer().render(mail.template, context)
    assert subject == "Henvisning lagt sammen med din – afdeling holbaek-1" and "handle på henvisningen" in text
    # A re-route that made a new referral is told by its referral.created.v1; a rejection alone makes no e-mail.
    new = status_changed(municipality, "rejected", "received", reason="capacity", merged_into_open=False, **takeover)
    assert consultant_emails(new, LINKS) == []


def test_reporters_hear_of_receipt_acceptance_and_closure_once_per_concern() -> None:
    receipt = reporter_receipt(concern_reported("c0ffee00-0000-4000-8000-000000000001"))
    assert receipt.template == "reporter_receipt" and set(json.loads(receipt.body)) == {"concern_id", "reported_at"}
    first = referral_created("holbaek-1", target="consultant", concern_id="c0ffee00-0000-4000-8000-000000000002")
    second = referral_created("holbaek-1", target="municipality", concern_id="c0ffee00-0000-4000-8000-000000000002")
    accepted = [reporter_update(status_changed(r, "accepted", "received")) for r in (first, second)]
    assert accepted[0].id == accepted[1].id  # both referrals accepted: one message
    assert reporter_update(status_changed(first, "rejected", "received", reason="capacity")) is None
    closed = reporter_update(status_changed(first, "completed", "in_progress", outcome="eviction_avoided"))
    assert json.loads(closed.body)["milestone"] == "closed" and "eviction_avoided" not in closed.body
