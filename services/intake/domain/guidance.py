"""Handling guidance for reporters: short, practical Danish text per category (kept as data files)."""

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain import triage
from shared.contracts.vocabulary import DANGER_HINTS, Category, Hint

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


class HintGuidance(BaseModel):
    """What the reporter is told at once about a hint read in their text (in Danish)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    code: Hint
    """The hint, e.g. possible_suicide_risk."""
    title: Line
    """What the text may point to, as the reporter would say it."""
    text: Line
    """What to do now."""
    call_112: bool
    """Whether the hint is a danger to life or health: call 112 now if the danger is there."""


def hint_guidance_for(codes: Iterable[str]) -> list[HintGuidance]:
    """The Danish guidance of each hint read (triage's data), danger first."""
    hints = sorted((Hint(c) for c in codes), key=lambda h: (h not in DANGER_HINTS, list(Hint).index(h)))
    return [HintGuidance.model_validate(item) for item in triage.hint_guidance([h.value for h in hints], lang="da")]
