"""The keyed projections' merge rules: one source for the live SQL and the rebuild's fold."""

from datetime import UTC, datetime, timedelta

import pytest

from services.stats.adapters.folding import ProjectionFold
from services.stats.adapters.upserts import (
    DELIVERY,
    REFERRALS,
    SLA_BREACHED,
    STATUS_CHANGED,
    TABLES,
    Table,
    Upsert,
    follows,
    least,
)
from services.stats.domain.facts import StatusChange

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def change(at: datetime, to_status: str, *, acknowledges: bool = True, outcome: str | None = None) -> StatusChange:
    completes = to_status == "completed"
    return StatusChange("r-1", "c-1", "municipality", "dep-1", "0316", to_status, at, acknowledges, completes, outcome)


def referral(fold: ProjectionFold) -> dict[str, object]:
    return dict(zip(REFERRALS.columns, fold.referrals["r-1"], strict=True))


async def test_status_changes_fold_to_the_latest_state_the_first_answer_and_the_first_completion() -> None:
    fold = ProjectionFold()
    for at, status, outcome in [
        (T0 + timedelta(hours=5), "completed", "support_established"),
        (T0 + timedelta(hours=1), "received", None),
        (T0 + timedelta(hours=3), "completed", "no_action_needed"),  # an earlier completion, read later
        (T0 + timedelta(hours=5), "in_progress", None),  # a tie: the later arrival wins
    ]:
        await fold.record_status_change(change(at, status, outcome=outcome))

    row = referral(fold)
    assert (row["status"], row["status_changed_at"]) == ("in_progress", T0 + timedelta(hours=5))
    assert row["acknowledged_at"] == T0 + timedelta(hours=1)
    assert (row["completed_at"], row["outcome"]) == (T0 + timedelta(hours=3), "no_action_needed")
    assert (row["sla_breaches"], row["escalations"], row["created_at"]) == (0, 0, None)  # the table's defaults


async def test_a_clock_event_and_a_creation_read_after_a_status_change_fill_in_without_undoing_it() -> None:
    class Created:
        referral_id, concern_id, target, recipient_id = "r-1", "c-1", "municipality", "rcp-1"
        department_id, municipality_code, categories, severity, urgent = "dep-1", "0316", ["hoarding"], "high", False
        created_at = T0

    fold = ProjectionFold()
    await fold.record_status_change(change(T0 + timedelta(hours=1), "received"))
    await fold.count_clock_event(Created, "sla_breaches")
    await fold.count_clock_event(Created, "sla_breaches")
    await fold.record_referral(Created)
    later = type("Later", (Created,), {"recipient_id": "rcp-2", "created_at": T0 + timedelta(days=1)})
    await fold.record_referral(later)  # a second creation: the first one won

    row = referral(fold)
    assert (row["status"], row["sla_breaches"], row["recipient_id"], row["created_at"]) == ("received", 2, "rcp-1", T0)


def test_the_live_statement_and_the_fold_come_from_the_same_rules() -> None:
    status = (
        "status = CASE WHEN EXCLUDED.status_changed_at IS NOT NULL AND (referrals.status_changed_at IS NULL OR "
        "EXCLUDED.status_changed_at >= referrals.status_changed_at) THEN EXCLUDED.status"
    )
    assert status in STATUS_CHANGED.sql
    assert "failed_attempts = deliveries.failed_attempts + EXCLUDED.failed_attempts" in DELIVERY.sql
    assert "'requested'" in SLA_BREACHED.sql  # the defaults the fold starts a row with, written by live too
    assert {t.name for t in TABLES} == {"referrals", "deliveries", "suggestions"}


def test_an_upsert_must_give_its_key_first_and_rules_only_for_what_it_gives() -> None:
    table = Table("t", ("k", "a", "b"), {})
    with pytest.raises(ValueError, match="key first"):
        Upsert(table, ("a", "k"), {})
    with pytest.raises(ValueError, match="does not give"):
        Upsert(table, ("k", "a"), {"b": follows("a", "<")})
    with pytest.raises(ValueError):
        follows("a", ">")


def test_least_ignores_nulls_as_sql_does() -> None:
    assert (least(None, 2), least(2, None), least(3, 2), least(None, None)) == (2, 2, 2, None)
