"""intake's side of triage: only hint codes go on concern.reported.v1, and the reporter reads them in Danish."""

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.concern import new_concern
from services.intake.domain.directory import Department
from services.intake.domain.events import concern_reported
from services.intake.domain.guidance import HintGuidance, hint_guidance_for
from services.intake.domain.report import ConcernReport
from services.intake.entrypoints.schemas import ConcernReceipt
from shared.contracts.envelope import decode, encode
from shared.contracts.vocabulary import DANGER_HINTS, ChildrenInHousehold, Hint, IntakeChannel
from tests.support.intake_harness import concern_body

pytestmark = pytest.mark.unit

SUICIDE_TEXT = "Hun siger hun vil tage sit eget liv. (Fiktivt testeksempel.)"
DEPARTMENT = Department("holbaek-1", "org-demo", "Ladegårdsparken", "0316", 412)


def _concern(hints: tuple[str, ...], **overrides):  # noqa: ANN003, ANN202
    report = ConcernReport.model_validate(concern_body(description=SUICIDE_TEXT, **overrides))
    now = datetime.now(UTC) + timedelta(minutes=1)
    return new_concern(
        report, DEPARTMENT, now=now, channel=IntakeChannel.HTTP, subject_key_secret="s" * 32, request_hash="h",
        hints=hints,
    )  # fmt: skip


def test_the_event_carries_the_hint_codes_and_the_childrens_answer_never_the_text() -> None:
    concern = _concern(("possible_suicide_risk", "child_at_risk"), children_in_household="yes", danger_confirmed=True)
    raw = encode(concern_reported(concern, source="/intake"))
    assert b"eget liv" not in raw and b"Fiktiv" not in raw
    data = decode(raw).data
    assert data.hints == (Hint.POSSIBLE_SUICIDE_RISK, Hint.CHILD_AT_RISK)
    assert data.children_in_household is ChildrenInHousehold.YES
    assert data.danger_confirmed is True


def test_without_hints_the_event_leaves_the_field_out() -> None:
    raw = encode(concern_reported(_concern(()), source="/intake"))
    assert b'"hints"' not in raw
    assert decode(raw).data.hints is None


def test_an_unknown_childrens_answer_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="children_in_household"):
        ConcernReport.model_validate(concern_body(children_in_household="maybe"))


def test_every_hint_has_danish_guidance_danger_first_with_112() -> None:
    guidance = hint_guidance_for(["possible_hoarding", "possible_suicide_risk"])
    assert [g.code for g in guidance] == [Hint.POSSIBLE_SUICIDE_RISK, Hint.POSSIBLE_HOARDING]
    assert guidance[0].call_112 and "112" in guidance[0].text
    assert not guidance[1].call_112
    for hint in Hint:
        (one,) = hint_guidance_for([hint.value])
        assert one.call_112 == (hint in DANGER_HINTS)
        assert one.title and one.text


def test_the_receipt_documents_its_hints() -> None:
    schema = ConcernReceipt.model_json_schema()
    assert "hints" in schema["properties"]
    assert set(HintGuidance.model_json_schema()["properties"]) == {"code", "title", "text", "call_112"}
