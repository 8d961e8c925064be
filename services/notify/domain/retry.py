"""When to try a failed delivery again: exponential backoff with full jitter, Retry-After, giving up."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from services.notify.domain.model import AttemptKind, AttemptResult, Decision, DeliveryState


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff doubling from `base_s` up to `max_delay_s`; dead after `window_s`; subscriptions off after days."""

    base_s: float
    max_delay_s: float
    window_s: float
    retry_after_max_s: float
    disable_after_s: float

    def backoff_s(self, attempts: int, rng: random.Random) -> float:
        """Full jitter (AWS): uniform in [0, min(cap, base * 2^(attempts-1))], so retries spread out."""
        ceiling = min(self.max_delay_s, self.base_s * 2 ** min(max(attempts - 1, 0), 62))
        return rng.uniform(0, ceiling)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def decide(
    result: AttemptResult,
    *,
    attempts: int,
    window_started_at: datetime,
    failing_since: datetime | None,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> Decision:
    """The state after an attempt; `attempts` counts this one, `failing_since` is the subscription's streak."""
    if result.kind is AttemptKind.DELIVERED:
        return Decision(DeliveryState.DELIVERED)
    if result.kind is AttemptKind.CANCELLED:
        return Decision(DeliveryState.CANCELLED, final=True)
    if result.kind is AttemptKind.GONE:
        return Decision(DeliveryState.DEAD, final=True, disable_subscription="gone")
    if result.kind is AttemptKind.PERMANENT:
        return Decision(DeliveryState.DEAD, final=True)
    if failing_since is not None and (now - failing_since).total_seconds() >= policy.disable_after_s:
        return Decision(DeliveryState.DEAD, final=True, disable_subscription="failing")
    delay = policy.backoff_s(attempts, rng)
    if result.retry_after_s is not None:
        # The receiver said when it can take more; never earlier than that, within reason.
        delay = max(delay, min(result.retry_after_s, policy.retry_after_max_s))
    next_attempt_at = now + timedelta(seconds=delay)
    if (next_attempt_at - window_started_at).total_seconds() > policy.window_s:
        return Decision(DeliveryState.DEAD, final=True)
    return Decision(DeliveryState.PENDING, next_attempt_at=next_attempt_at)
