"""A report naming no tenancy is keyed by its department: it must never count as a repeat of the department's
other tenancy-less reports (DESIGN.md: repeats are three or more concerns about one tenancy in 90 days)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.concern import new_concern
from services.intake.domain.directory import Department
from services.intake.domain.events import concern_reported as intake_event
from services.intake.domain.report import ConcernReport
from services.stats.adapters.folding import ProjectionFold
from services.stats.handlers.projections import concern_reported as stats_handler
from shared.contracts.envelope import decode, encode
from shared.contracts.vocabulary import IntakeChannel
from tests.support.intake_harness import concern_body

pytestmark = pytest.mark.unit
HOLBAEK = Department("holbaek-1", "org-demo", "Ladegårdsparken", "0316", 412)
NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def reported(n: int, **body: object):  # noqa: ANN201 - an Envelope[ConcernReported]
    report = ConcernReport.model_validate(concern_body(observed_at=(NOW - timedelta(hours=1)).isoformat(), **body))
    concern = new_concern(
        report,
        HOLBAEK,
        now=NOW + timedelta(days=n),
        channel=IntakeChannel.HTTP,
        subject_key_secret="unit-test-subject-key-secret",
        request_hash=f"h{n}",
    )
    return decode(encode(intake_event(concern, source="/services/intake")))  # as consumers read it


def test_intake_says_whether_the_subject_key_is_a_tenancy_or_the_department() -> None:
    with_tenancy, without = reported(0, tenancy_id="101-2tv"), reported(0, tenancy_id=None)

    assert with_tenancy.data.subject_is_tenancy is True and without.data.subject_is_tenancy is False
    assert without.data.subject_key == reported(1, tenancy_id=None).data.subject_key  # the department's key


@pytest.mark.parametrize("tenancy", ["101-2tv", None])
async def test_stats_keys_repeats_only_by_a_named_tenancy(tenancy: str | None) -> None:
    fold = ProjectionFold()
    for n in range(4):
        await stats_handler(reported(n, tenancy_id=tenancy), fold)

    keys = {row[4] for row in fold.rows()["concern_facts"]}

    # The repeat flags are counted per subject key (the domain's facts.settle, live and in a rebuild alike), over
    # concerns that have one: the department's reports carry none, so none of them can be a repeat.
    assert keys == ({reported(0, tenancy_id=tenancy).data.subject_key} if tenancy else {None})
