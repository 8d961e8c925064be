"""Backoff with full jitter, Retry-After, and when a delivery or a subscription is given up."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.model import AttemptKind, AttemptResult, DeliveryState
from services.notify.domain.retry import RetryPolicy, decide, parse_retry_after

pytestmark = pytest.mark.unit

HOUR = 3600.0
POLICY = RetryPolicy(
    base_s=30, max_delay_s=6 * HOUR, window_s=72 * HOUR, retry_after_max_s=24 * HOUR, disable_after_s=120 * HOUR
)
NOW = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)


def test_backoff_is_full_jitter_under_a_doubling_ceiling() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 30), (2, 60), (5, 480), (12, 6 * HOUR), (200, 6 * HOUR)]:
        delays = [POLICY.backoff_s(attempts, rng) for _ in range(300)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread over the whole range


def test_the_default_schedule_spans_hours() -> None:
    rng = random.Random(1)
    window_start, now, attempts = NOW, NOW, 0
    while True:
        attempts += 1
        decision = decide(
            AttemptResult(AttemptKind.RETRY, "http_5xx"),
            attempts=attempts,
            window_started_at=window_start,
            failing_since=None,
            now=now,
            policy=POLICY,
            rng=rng,
        )
        if decision.state is not DeliveryState.PENDING:
            break
        now = decision.next_attempt_at
    assert decision.state is DeliveryState.DEAD and decision.final
    assert (now - window_start) > timedelta(hours=24) and attempts > 10


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (" 5 ", 5.0), ("Tue, 04 Mar 2025 08:31:00 GMT", 60.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_in_seconds_or_as_a_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def _decide(result: AttemptResult, **kw) -> object:
    values = {"attempts": 1, "window_started_at": NOW, "failing_since": None, "now": NOW, "policy": POLICY}
    return decide(result, **{**values, **kw}, rng=random.Random(3))


def test_outcomes_of_an_attempt() -> None:
    assert _decide(AttemptResult.ok(200)).state is DeliveryState.DELIVERED
    gone = _decide(AttemptResult(AttemptKind.GONE, "http_410", 410))
    assert (gone.state, gone.final, gone.disable_subscription) == (DeliveryState.DEAD, True, "gone")
    permanent = _decide(AttemptResult(AttemptKind.PERMANENT, "smtp_rejected"))
    assert (permanent.state, permanent.final, permanent.disable_subscription) == (DeliveryState.DEAD, True, None)
    cancelled = _decide(AttemptResult(AttemptKind.CANCELLED, "no_reporter_contact"))
    assert (cancelled.state, cancelled.final) == (DeliveryState.CANCELLED, True)
    retry = _decide(AttemptResult(AttemptKind.RETRY, "timeout"))
    assert retry.state is DeliveryState.PENDING and NOW <= retry.next_attempt_at <= NOW + timedelta(seconds=30)


def test_retry_after_is_waited_for_but_capped() -> None:
    asked = _decide(AttemptResult(AttemptKind.RETRY, "http_429", 429, retry_after_s=600))
    assert asked.next_attempt_at >= NOW + timedelta(seconds=600)
    greedy = _decide(AttemptResult(AttemptKind.RETRY, "http_503", 503, retry_after_s=10 * 24 * HOUR))
    assert greedy.next_attempt_at <= NOW + timedelta(hours=24)


def test_a_delivery_beyond_its_window_is_dead() -> None:
    late = _decide(AttemptResult(AttemptKind.RETRY, "http_5xx"), window_started_at=NOW - timedelta(hours=72))
    assert (late.state, late.final, late.disable_subscription) == (DeliveryState.DEAD, True, None)


def test_a_subscription_failing_for_days_is_disabled() -> None:
    fresh = _decide(AttemptResult(AttemptKind.RETRY, "http_5xx"), failing_since=NOW - timedelta(hours=119))
    assert fresh.state is DeliveryState.PENDING
    stale = _decide(AttemptResult(AttemptKind.RETRY, "http_5xx"), failing_since=NOW - timedelta(hours=120))
    assert (stale.state, stale.final, stale.disable_subscription) == (DeliveryState.DEAD, True, "failing")
