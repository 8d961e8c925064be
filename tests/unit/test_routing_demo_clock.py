"""The demo clock: how far N Danish working days move it, what then falls due, and that only LOCAL_DEV has it."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from services.routing.bootstrap import build_app
from services.routing.domain.clock import WORKING_DAYS_DUE, ack_due_at, escalate_at, working_days_span
from services.routing.entrypoints.api.demo import demo_clock_enabled
from services.routing.handlers.demo_clock import falls_due
from services.routing.settings import RoutingSettings
from shared.cli import app as crp
from shared.contracts.vocabulary import Severity

pytestmark = pytest.mark.unit
ADVANCE = "/v1/demo/clock/advance"


def cph(*args: int) -> datetime:
    """A Copenhagen wall-clock time as UTC."""
    return datetime(*args, tzinfo=ZoneInfo("Europe/Copenhagen")).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "days", "span"),
    [
        (cph(2025, 3, 4, 10, 0), 1, timedelta(days=1)),  # Tuesday -> Wednesday
        (cph(2025, 3, 7, 10, 0), 1, timedelta(days=3)),  # Friday -> Monday
        (cph(2025, 3, 8, 10, 0), 1, timedelta(days=2)),  # Saturday -> Monday
        (cph(2025, 3, 3, 10, 0), 5, timedelta(days=7)),  # a whole working week
        # Easter 2025: Maundy Thursday, Good Friday, Easter Monday are helligdage: Wednesday -> Tuesday.
        (cph(2025, 4, 16, 10, 0), 1, timedelta(days=6)),
        # Christmas 2025: 25 and 26 December are holidays, 24 December is not.
        (cph(2025, 12, 23, 15, 0), 3, timedelta(days=7)),
        # Summer time starts 30 March 2025: the same local time of day is an hour less away.
        (cph(2025, 3, 28, 9, 0), 1, timedelta(days=3, hours=-1)),
        (cph(2025, 3, 4, 10, 0), 0, timedelta(0)),
    ],
)
def test_working_days_span_skips_weekends_and_danish_holidays(now, days, span) -> None:
    assert working_days_span(now, days) == span


def test_a_negative_span_is_refused() -> None:
    with pytest.raises(ValueError, match="days"):
        working_days_span(cph(2025, 3, 4, 10, 0), -1)


@given(
    now=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    severity=st.sampled_from([Severity.HIGH, Severity.MEDIUM, Severity.LOW]),
    days=st.integers(min_value=1, max_value=15),
)
def test_advancing_n_working_days_reminds_exactly_when_due_within_n_and_escalates_at_twice(
    now: datetime, severity: Severity, days: int
) -> None:
    # A referral created just now, its stored times shifted back by the span: due and escalation are what
    # the clocks compare with now, as if `days` working days had passed.
    span = working_days_span(now, days)
    due = WORKING_DAYS_DUE[severity]
    assert (ack_due_at(now, severity) - span <= now) is (due <= days)
    assert (escalate_at(now, severity) - span <= now) is (2 * due <= days)


@given(
    now=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    first=st.integers(min_value=1, max_value=10),
    then=st.integers(min_value=1, max_value=10),
)
def test_two_advances_go_as_far_as_one_of_both_when_the_second_starts_where_the_first_ended(
    now: datetime, first: int, then: int
) -> None:
    # The handler takes each referral's own "now" (now + what it was moved already), so advances compose.
    moved = working_days_span(now, first)
    assert moved + working_days_span(now + moved, then) == working_days_span(now, first + then)


def test_acute_referrals_escalate_after_one_working_day() -> None:
    now = cph(2025, 3, 7, 16, 0)
    assert escalate_at(now, Severity.ACUTE) - working_days_span(now, 1) <= now


def _row(status: str = "requested", *, due: timedelta, escalate: timedelta, breached: bool = False) -> dict:
    now = cph(2025, 3, 4, 10, 0)
    return {
        "status": status,
        "ack_due_at": now + due,
        "escalate_at": now + escalate,
        "breached_at": now if breached else None,
        "escalated_at": None,
    }


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_row(due=timedelta(hours=-1), escalate=timedelta(hours=1)), (True, False)),
        (_row(due=timedelta(hours=-2), escalate=timedelta(hours=-1)), (True, True)),
        (_row(due=timedelta(hours=-2), escalate=timedelta(hours=-1), breached=True), (False, True)),
        (_row(due=timedelta(hours=1), escalate=timedelta(hours=2)), (False, False)),
        (_row("received", due=timedelta(hours=-2), escalate=timedelta(hours=-1)), (False, False)),  # acknowledged
    ],
)
def test_only_unacknowledged_referrals_fall_due_and_each_clock_fires_once(row, expected) -> None:
    assert falls_due(row, cph(2025, 3, 4, 10, 0)) == expected


def _underretning(status: str = "requested", *, receipt: timedelta, reminded: bool = False) -> dict:
    now = cph(2025, 3, 4, 10, 0)
    row = _row(status, due=timedelta(hours=-2), escalate=timedelta(hours=1), breached=True)
    receipt_marks = {"receipt_due_at": now + receipt, "receipt_breached_at": now if reminded else None}
    return row | {"underretning": True, **receipt_marks}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_underretning(receipt=timedelta(hours=-1)), (1, False)),  # its unconfirmed receipt is a reminder too
        (_underretning(receipt=timedelta(hours=-1), reminded=True), (0, False)),
        (_underretning(receipt=timedelta(hours=1)), (0, False)),
        (_underretning("received", receipt=timedelta(hours=-1)), (0, False)),  # the municipality confirmed it
        (_underretning(receipt=timedelta(hours=-1)) | {"breached_at": None}, (2, False)),
    ],
)
def test_an_underretnings_unconfirmed_receipt_is_counted_among_the_reminders(row, expected) -> None:
    # The clocks send referral.sla_breached.v1 (clock underretning_receipt) for it; the summary counted it nowhere.
    assert falls_due(row, cph(2025, 3, 4, 10, 0)) == expected


def _settings(**overrides: object) -> RoutingSettings:
    url = "postgresql://routing@127.0.0.1/routing"
    return RoutingSettings(database_url=url, subject_key_secret="s" * 32, **overrides)


@pytest.mark.parametrize(
    ("overrides", "exists"),
    [
        ({"local_dev": True}, True),
        ({"local_dev": False}, False),
        ({"local_dev": True, "environment": "production"}, False),
    ],
)
def test_the_demo_clock_route_exists_only_with_local_dev_and_never_in_production(overrides, exists) -> None:
    settings = _settings(**overrides)
    assert demo_clock_enabled(settings) is exists
    assert (ADVANCE in build_app(settings).openapi()["paths"]) is exists


def test_the_cli_refuses_when_local_dev_is_off(tmp_path) -> None:
    result = CliRunner().invoke(
        crp, ["demo", "advance", "--working-days", "2", "--home", str(tmp_path)], env={"LOCAL_DEV": "false"}
    )
    assert result.exit_code == 1
    assert "LOCAL_DEV is off" in result.output


def test_the_cli_refuses_without_a_local_stack(tmp_path) -> None:
    result = CliRunner().invoke(crp, ["demo", "advance", "--working-days", "2", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert "no local stack" in result.output
