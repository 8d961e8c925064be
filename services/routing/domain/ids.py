"""Deterministic ids: a redelivered concern or a retried move derives the same ids, never a second referral."""

import uuid

NAMESPACE = uuid.UUID("6f1b3c1e-7a51-4c1e-9a52-3d0f6a1b2c4d")


def referral_id(concern_id: str, target: str, recipient_id: str, *, replaces: str | None = None) -> str:
    """uuid5 of concern id + target + recipient (+ the rejected referral a re-route replaces)."""
    name = f"{concern_id}|{target}|{recipient_id}" + (f"|replaces:{replaces}" if replaces else "")
    return str(uuid.uuid5(NAMESPACE, name))


def event_id(referral_id: str, what: str) -> str:
    """The CloudEvent id of something that happens once to a referral (created, sla_breached, status:3)."""
    return str(uuid.uuid5(NAMESPACE, f"{referral_id}|{what}"))
