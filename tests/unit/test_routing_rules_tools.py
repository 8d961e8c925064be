"""The rules tooling's pure parts: the diff of two versions, entity tags, refusals that name their field."""

import copy
import json

import pytest

from services.routing.adapters import rules_store
from services.routing.domain import rules_diff
from services.routing.domain.lifecycle import IllegalTransition, InvalidMove, check_transition
from services.routing.settings import DEFAULT_RULES
from shared.contracts.vocabulary import ReferralStatus as S
from shared.web import conditional

pytestmark = pytest.mark.unit
DEFAULT = rules_store.readable(json.loads(rules_store.as_json(rules_store.load_file(DEFAULT_RULES))))


def edited() -> dict:
    """Version 2 as an admin would write it: one rule changed, one removed, one added, and a fallback chain."""
    after = copy.deepcopy(DEFAULT)
    noise = next(r for r in after["rules"] if r["id"] == "neighbour_conflict_noise")
    noise["refer"][0]["task"] = "triage"
    noise["when"]["severities"] = ["low", "medium"]
    after["rules"] = [r for r in after["rules"] if r["id"] != "other"]
    after["rules"].append({**copy.deepcopy(noise), "id": "noise_at_night", "description": "Natlig støj."})
    after["fallback"]["consultant"] = ["municipality", "consultant_escalation"]
    return after


def test_the_diff_names_rules_added_removed_and_changed_with_their_fields() -> None:
    diff = rules_diff.document_diff(DEFAULT, edited())
    assert diff.rules.added == ["noise_at_night"] and diff.rules.removed == ["other"]
    (changed,) = diff.rules.changed
    assert changed.id == "neighbour_conflict_noise"
    assert [(c.field, c.before, c.after) for c in changed.fields] == [
        ("when.severities", [], ["low", "medium"]),
        ("refer.0.task", "act", "triage"),
    ]
    assert not diff.rules.reordered
    assert diff.sections == {}
    assert [(c.field, c.after) for c in diff.fields] == [
        ("fallback.consultant", ["municipality", "consultant_escalation"])
    ]


def test_other_keyed_sections_are_diffed_entry_by_entry() -> None:
    """E.g. the recipient sections of documents stored before the reference directory took them over."""
    before = {"name": "a", "consultants": {"c-1": {"departments": ["d-1"]}, "c-2": {"departments": ["d-2"]}}}
    after = {"name": "b", "consultants": {"c-1": {"departments": ["d-1", "d-3"]}}, "municipalities": {"0316": {}}}
    diff = rules_diff.document_diff(before, after)
    consultants = diff.sections["consultants"]
    assert consultants.removed == ["c-2"] and consultants.added == []
    assert [(c.id, [f.field for f in c.fields]) for c in consultants.changed] == [("c-1", ["departments"])]
    assert diff.sections["municipalities"].added == ["0316"]
    assert [(c.field, c.before, c.after) for c in diff.fields] == [("name", "a", "b")]


def test_equal_documents_have_an_empty_diff_whatever_order_their_sets_were_stored_in() -> None:
    shuffled = copy.deepcopy(DEFAULT)
    shuffled["health_categories"] = list(reversed(shuffled["health_categories"]))
    diff = rules_diff.document_diff(DEFAULT, rules_store.readable(shuffled))
    assert diff.rules.empty and diff.sections == {} and diff.fields == []


def test_the_unified_diff_reads_as_yaml_lines() -> None:
    text = rules_diff.unified(DEFAULT, edited(), before_name="version 1", after_name="version 2")
    assert text.startswith("--- version 1\n+++ version 2\n")
    assert "-- id: other\n" in text and "+- id: noise_at_night\n" in text and "+  description: Natlig støj.\n" in text
    first = rules_diff.unified(None, DEFAULT, before_name="(none)", after_name="version 1")
    assert all(line.startswith(("+", "@", "---")) for line in first.splitlines())


def test_a_reordering_of_rules_is_reported() -> None:
    after = copy.deepcopy(DEFAULT)
    after["rules"] = list(reversed(after["rules"]))
    diff = rules_diff.document_diff(DEFAULT, after)
    assert diff.rules.reordered and not (diff.rules.added or diff.rules.removed or diff.rules.changed)


@pytest.mark.parametrize(
    ("header", "current", "holds"),
    [
        ('"3"', '"3"', True),
        ('W/"3"', '"3"', True),
        ('"2", "3"', '"3"', True),
        ("*", '"3"', True),
        ('"2"', '"3"', False),
    ],
)
def test_if_none_match_compares_weakly(header: str, current: str, holds: bool) -> None:
    assert conditional.none_match(header, current) is holds


@pytest.mark.parametrize(
    ("header", "current", "fails"),
    [
        (None, '"3"', False),
        ('"3"', '"3"', False),
        ("*", '"3"', False),
        ('"2"', '"3"', True),
        ('W/"3"', '"3"', True),  # If-Match compares strongly
        ("*", None, True),  # nothing stored yet
    ],
)
def test_if_match_compares_strongly(header: str | None, current: str | None, fails: bool) -> None:
    assert conditional.match_fails(header, current) is fails


@pytest.mark.parametrize(
    ("current", "to", "reason", "outcome", "field"),
    [
        (S.RECEIVED, S.REJECTED, None, None, "reason"),
        (S.RECEIVED, S.REJECTED, "bored", None, "reason"),
        (S.IN_PROGRESS, S.COMPLETED, None, None, "outcome"),
        (S.ACCEPTED, S.IN_PROGRESS, None, "eviction_avoided", "outcome"),
        # A reason only with a rejection, as an outcome only to complete (it was taken, stored and published).
        (S.RECEIVED, S.ACCEPTED, "capacity", None, "reason"),
        (S.IN_PROGRESS, S.CANCELLED, "bored", None, "reason"),
    ],
)
def test_a_missing_or_bad_reason_or_outcome_names_its_field(current, to, reason, outcome, field) -> None:
    with pytest.raises(InvalidMove) as refused:
        check_transition(current, to, reason=reason, outcome=outcome)
    assert refused.value.field == field


def test_an_illegal_move_from_the_current_state_is_no_invalid_field() -> None:
    with pytest.raises(IllegalTransition) as refused:
        check_transition(S.REQUESTED, S.REJECTED, reason="bored", outcome=None)
    assert not isinstance(refused.value, InvalidMove)
