"""Due times in Danish working days across weekends and public holidays; the lifecycle; the fallback chain."""

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain.clock import FakeClock, ack_due_at, add_working_days, escalate_at, is_working_day
from services.routing.domain.fallback import next_recipient
from services.routing.domain.lifecycle import IllegalTransition, check_transition
from services.routing.domain.repeats import is_repeat
from shared.contracts.vocabulary import ReferralStatus as S
from shared.contracts.vocabulary import ReferralTarget, Severity
from tests.support.reference import default_rules

pytestmark = pytest.mark.unit


def cph(*args: int) -> datetime:
    """A Copenhagen wall-clock time as UTC (CET = UTC+1 in winter, CEST = UTC+2 in summer)."""
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Copenhagen")).astimezone(UTC)


@pytest.mark.parametrize(
    ("created", "severity", "due"),
    [
        (cph(2025, 3, 4, 9, 30), Severity.HIGH, cph(2025, 3, 5, 9, 30)),  # Tuesday -> Wednesday
        (cph(2025, 3, 7, 14, 0), Severity.HIGH, cph(2025, 3, 10, 14, 0)),  # Friday -> Monday
        (cph(2025, 3, 8, 10, 0), Severity.HIGH, cph(2025, 3, 10, 10, 0)),  # Saturday -> Monday
        (cph(2025, 3, 6, 9, 0), Severity.MEDIUM, cph(2025, 3, 11, 9, 0)),  # Thu -> Fri, Mon, Tue
        (cph(2025, 3, 3, 9, 0), Severity.LOW, cph(2025, 3, 11, 9, 0)),  # Mon + 6 working days
        # Easter 2025: Maundy Thursday 17/4, Good Friday 18/4, Easter Monday 21/4 are holidays.
        (cph(2025, 4, 16, 11, 0), Severity.HIGH, cph(2025, 4, 22, 11, 0)),
        (cph(2025, 4, 16, 11, 0), Severity.MEDIUM, cph(2025, 4, 24, 11, 0)),
        # Christmas: 25/12 and 26/12 (Thu, Fri) are holidays; 24/12 is a working day by law.
        (cph(2025, 12, 23, 15, 0), Severity.MEDIUM, cph(2025, 12, 30, 15, 0)),
        # Across the switch to summer time (30/3/2025): same local time of day, one hour less in UTC.
        (cph(2025, 3, 28, 9, 0), Severity.HIGH, cph(2025, 3, 31, 9, 0)),
        (cph(2025, 3, 8, 23, 30), Severity.ACUTE, cph(2025, 3, 9, 0, 30)),  # acute: one hour, weekend or not
    ],
)
def test_acknowledgement_due_in_danish_working_days(created, severity, due) -> None:
    assert ack_due_at(created, severity) == due


def test_summer_time_keeps_the_local_time_of_day() -> None:
    due = add_working_days(cph(2025, 3, 28, 9, 0), 1)
    assert due.hour == 7  # 09:00 CEST is 07:00 UTC, while the start was 08:00 UTC


def test_holidays_and_weekends_are_not_working_days() -> None:
    assert not is_working_day(datetime(2025, 5, 29).date())  # Ascension Day
    assert not is_working_day(datetime(2025, 6, 9).date())  # Whit Monday
    assert not is_working_day(datetime(2025, 1, 1).date())
    assert not is_working_day(datetime(2025, 3, 8).date())  # Saturday
    assert is_working_day(datetime(2025, 5, 16).date())  # the former Great Prayer Day is a working day since 2024


def test_escalation_is_at_twice_the_due_time_and_urgent_referrals_run_on_the_hour() -> None:
    start = cph(2025, 3, 3, 9, 0)
    assert escalate_at(start, Severity.MEDIUM) == cph(2025, 3, 11, 9, 0)  # 6 working days
    assert ack_due_at(start, Severity.LOW, urgent=True) == start + timedelta(hours=1)
    assert escalate_at(start, Severity.ACUTE) == start + timedelta(hours=2)


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2025, 1, 2, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2025, 1, 2, tzinfo=UTC)
    assert clock.advance(timedelta(hours=3)) == datetime(2025, 1, 2, 3, tzinfo=UTC)


def test_three_within_90_days_is_a_repeat() -> None:
    t = datetime(2025, 6, 1, tzinfo=UTC)
    assert is_repeat(t, [t - timedelta(days=89), t - timedelta(days=10), t])
    assert not is_repeat(t, [t - timedelta(days=91), t - timedelta(days=10), t])
    assert not is_repeat(t, [t - timedelta(days=10), t, t + timedelta(days=1)])  # a later one does not count


@pytest.mark.parametrize(
    ("current", "to"),
    [
        (S.REQUESTED, S.RECEIVED),
        (S.RECEIVED, S.ACCEPTED),
        (S.ACCEPTED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.ON_HOLD),
        (S.ON_HOLD, S.IN_PROGRESS),
        (S.REQUESTED, S.CANCELLED),
        (S.ON_HOLD, S.FAILED),
    ],
)
def test_legal_moves(current, to) -> None:
    check_transition(current, to, reason=None, outcome=None)


@pytest.mark.parametrize(
    ("current", "to", "reason", "outcome", "message"),
    [
        (S.REQUESTED, S.COMPLETED, None, "support_established", "cannot move from requested to completed"),
        (S.REQUESTED, S.ACCEPTED, None, None, "allowed: cancelled, failed, received"),
        (S.COMPLETED, S.IN_PROGRESS, None, None, "closed referral cannot move"),
        (S.RECEIVED, S.REJECTED, None, None, "a rejection needs a reason"),
        (S.RECEIVED, S.REJECTED, "bored", None, "a rejection needs a reason"),
        (S.IN_PROGRESS, S.COMPLETED, None, None, "an outcome is required"),
        (S.ACCEPTED, S.IN_PROGRESS, None, "eviction_avoided", "only then"),
    ],
)
def test_illegal_moves_say_why(current, to, reason, outcome, message) -> None:
    with pytest.raises(IllegalTransition, match=message):
        check_transition(current, to, reason=reason, outcome=outcome)


def test_fallback_chain_skips_recipients_that_refused_and_ends_in_a_last_resort() -> None:
    rules = default_rules()
    place = {"department_id": "holbaek-1", "municipality_code": "0316", "document": rules}
    first = next_recipient(target=ReferralTarget.MUNICIPALITY, refused_by=frozenset({"municipality-0316"}), **place)
    assert (first.target, first.recipient_id) == ("consultant", "consultant-holbaek")
    second = next_recipient(
        target=ReferralTarget.CONSULTANT, refused_by=frozenset({"municipality-0316", "consultant-holbaek"}), **place
    )
    assert second.recipient_id == "escalation-consultant-holbaek"
    refused = frozenset({"consultant-holbaek", "escalation-consultant-holbaek"})
    assert next_recipient(target=ReferralTarget.CONSULTANT, refused_by=refused, **place) is None


def test_escalation_contacts_come_from_the_rules_document() -> None:
    rules = default_rules()
    assert rules.escalation_contact("municipality-0326") == "escalation-municipality-0326"
    assert rules.escalation_contact("consultant-fyn") == "escalation-consultant-fyn"
    assert rules.escalation_contact("escalation-consultant-fyn") == "escalation-consultant-fyn"  # the top
    assert rules.escalation_contact("someone-else") == "escalation-someone-else"
