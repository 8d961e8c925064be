"""Anonymous comparisons for a municipality: figures of the others, never who they are."""

import statistics
from collections.abc import Mapping

MIN_OTHERS = 3
"""Fewer other municipalities than this and their median would come close to revealing one of them."""


def median_of_others(values: Mapping[str, float | None], own: str) -> dict:
    """The median of every other key's value, with how many there are; None below MIN_OTHERS."""
    others = [value for key, value in values.items() if key != own and value is not None]
    if len(others) < MIN_OTHERS:
        return {"municipalities": len(others), "median": None, "withheld": True}
    return {"municipalities": len(others), "median": round(statistics.median(others), 3), "withheld": False}
