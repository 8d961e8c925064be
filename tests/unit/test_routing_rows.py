"""Routing's tables hold its dataclasses: the columns are the fields, enum columns found from the field types."""

from dataclasses import dataclass
from enum import StrEnum

import pytest

from services.routing.adapters import referral_store, suggestion_store
from services.routing.adapters.rows import Rows, grouped
from shared.contracts.vocabulary import Category, Outcome
from tests.unit.test_derived_views import full_referral, full_suggestion

pytestmark = pytest.mark.unit


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Paint:
    name: str
    colour: Colour
    second: Colour | None = None
    mixed: tuple[Colour, ...] = ()
    count: int = 0


def test_enum_columns_are_read_off_the_field_types_and_stored_as_their_values() -> None:
    rows = Rows(Paint)
    paint = Paint("p", Colour.RED, None, (Colour.BLUE, Colour.RED), 2)

    assert rows.columns == ("name", "colour", "second", "mixed", "count")
    assert (rows.enums, rows.enum_tuples) == ({"colour": Colour, "second": Colour}, {"mixed": Colour})
    assert rows.values(paint) == ["p", "red", None, ["blue", "red"], 2]
    assert rows.decode(dict(zip(rows.columns, rows.values(paint), strict=True))) == paint


def test_a_referral_and_a_suggestion_come_back_from_their_rows_as_they_were() -> None:
    referral = full_referral()
    row = dict(zip(referral_store.COLUMNS, referral_store.ROWS.values(referral), strict=True))
    assert row["categories"] == [c.value for c in referral.categories] and row["outcome"] == Outcome.NO_ACTION_NEEDED
    assert referral_store.to_referral(row) == referral
    assert referral_store.to_referral(row | {"outcome": None}).outcome is None
    assert referral_store.ROWS.enum_tuples == {"categories": Category}
    assert {"target", "severity", "legal_basis", "disclosure", "task", "concern_basis", "status", "outcome"} == set(
        referral_store.ROWS.enums
    )

    suggestion = full_suggestion()
    row = dict(zip(suggestion_store.COLUMNS, suggestion_store.ROWS.values(suggestion), strict=True))
    assert suggestion_store.to_suggestion(row) == suggestion


def test_grouped_keeps_every_key_and_the_rows_order() -> None:
    rows = [{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}]
    assert grouped(["a", "b", "c"], rows, "k", lambda r: r["v"]) == {"a": [1, 3], "b": [2], "c": []}
