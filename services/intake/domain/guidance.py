"""Handling guidance for reporters: short, practical Danish text per category (kept as data files)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.vocabulary import Category

Line = Annotated[str, Field(min_length=1, max_length=600)]


class Guidance(BaseModel):
    """What to do now, what not to do, when to call 112, and how to talk about consent (in Danish)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    category: Category
    """The category this guidance is for."""
    language: str = "da"
    """Language of the texts (Danish)."""
    title: Line
    """What the concern is about, as a reporter would say it."""
    summary: Line
    """What happens now that the concern is reported."""
    do_now: Annotated[list[Line], Field(min_length=1)]
    """What to do now."""
    avoid: Annotated[list[Line], Field(min_length=1)]
    """What not to do."""
    call_112: Line
    """When to call 112 (emergency) instead of waiting."""
    consent: Line
    """How to talk with the resident about consent to share their details."""


def guidance_for(library: dict[Category, Guidance], categories: list[Category]) -> list[Guidance]:
    """The guidance of each category, in the order given; acute ones (threats, abuse) first."""
    urgent = [c for c in categories if c in (Category.THREATS_OR_VIOLENCE, Category.SUSPECTED_ABUSE)]
    rest = [c for c in categories if c not in urgent]
    return [library[c] for c in urgent + rest if c in library]
