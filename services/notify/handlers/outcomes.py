"""The events that report a delivery's outcome: notification.delivered.v1 and notification.failed.v1."""

import uuid
from datetime import UTC, datetime

from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.delivery_log import CancelledDelivery
from services.notify.domain.fanout import REPORTER
from services.notify.domain.model import AttemptResult, Decision, DeliveryState
from shared.contracts.envelope import make_event
from shared.contracts.notifications import NotificationDelivered, NotificationFailed
from shared.outbox import OutboxRecord, record_of

_NAMESPACE = uuid.UUID("0b8f2a52-7d4e-4c1b-93a0-6a1f5e2c8d44")


def outcome_key(subscription_id: str | None, recipient_id: str | None) -> str:
    """The Kafka key of outcome events: the subscription id, or e-mail's channel + recipient."""
    return subscription_id or f"email:{recipient_id}"


def outcome_event(
    delivery: ClaimedDelivery, result: AttemptResult, decision: Decision, now: datetime, *, source: str
) -> OutboxRecord:
    """The event for one attempt; its id is derived, so a re-run attempt after a crash repeats the same id."""
    common = {
        "delivery_id": delivery.id,
        "channel": delivery.channel.value,
        "subscription_id": delivery.subscription_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "referral_id": delivery.referral_id,
        "municipality_code": delivery.municipality_code,
        "attempts": max(delivery.attempts, 1),
    }
    key = outcome_key(delivery.subscription_id, delivery.recipient_id)
    if decision.state is DeliveryState.DELIVERED:
        latency_ms = max(0, int((now - delivery.event_time).total_seconds() * 1000))
        data = NotificationDelivered(**common, latency_ms=latency_ms, delivered_at=now)
        event_id = uuid.uuid5(_NAMESPACE, f"{delivery.id}|{delivery.generation}|delivered")
    else:
        data = NotificationFailed(**common, reason=result.reason or "unknown", final=decision.final, failed_at=now)
        event_id = uuid.uuid5(_NAMESPACE, f"{delivery.id}|{delivery.generation}|{delivery.attempts}|failed")
    return record_of(make_event(data, source=source, subject=key, id=str(event_id), time=now), key)


def cancelled_event(cancelled: CancelledDelivery, cause_id: str, source: str) -> OutboxRecord:
    """The final notification.failed.v1 of a reporter delivery cancelled because the concern was erased."""
    key = outcome_key(None, REPORTER)
    data = NotificationFailed(
        delivery_id=cancelled.id,
        channel=cancelled.channel,
        event_id=cancelled.event_id,
        event_type=cancelled.event_type,
        referral_id=cancelled.referral_id,
        attempts=max(cancelled.attempts, 1),
        reason="concern_erased",
        final=True,
        failed_at=datetime.now(UTC),
    )
    event_id = uuid.uuid5(_NAMESPACE, f"{cancelled.id}|cancelled|{cause_id}")
    return record_of(make_event(data, source=source, subject=key, id=str(event_id)), key)
