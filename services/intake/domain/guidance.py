"""Handling guidance for reporters: short, practical Danish text per category (kept as data files)."""

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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


_PLACEHOLDER_TEXTS: dict[Hint, tuple[str, str]] = {
    Hint.POSSIBLE_SUICIDE_RISK: (
        "Du skriver noget, der kan tyde på selvmordstanker",
        "Ring 112 nu, hvis der er fare for beboerens liv. Bliv hos personen, hvis du kan, og ring ellers til "
        "Livslinien på 70 201 201 for råd.",
    ),
    Hint.POSSIBLE_FALL_OR_HELPLESS: (
        "Du skriver noget, der kan tyde på, at beboeren er faldet eller ikke kan klare sig",
        "Ring 112 nu, hvis beboeren ligger hjælpeløs eller ikke svarer. Gå ikke alene ind uden aftale med din leder.",
    ),
    Hint.FIRE_OR_GAS: (
        "Du skriver noget om brand, røg eller gas",
        "Ring 112 nu, hvis der er brand, røg eller lugt af gas. Få folk ud, og tænd ikke lys eller kontakter.",
    ),
    Hint.VIOLENCE_OR_THREATS: (
        "Du skriver noget om vold eller trusler",
        "Ring 112 nu, hvis nogen er i fare. Bring dig selv i sikkerhed, og skriv ned, hvad der skete.",
    ),
    Hint.CHILD_AT_RISK: (
        "Du skriver noget, der kan tyde på, at et barn ikke har det godt",
        "Kommunens børne- og ungeindgang får en underretning. Den kræver ikke forældrenes samtykke.",
    ),
    Hint.POSSIBLE_HOARDING: (
        "Du skriver noget, der kan tyde på samlermani",
        "Konsulenten ser på, om sagen også skal til kommunen. Fjern ikke beboerens ting.",
    ),
    Hint.POSSIBLE_DEMENTIA: (
        "Du skriver noget, der kan tyde på demens",
        "Konsulenten ser på, om kommunens demenskoordinator skal have sagen.",
    ),
    Hint.POSSIBLE_MENTAL_HEALTH: (
        "Du skriver noget, der kan tyde på psykisk sygdom eller mistrivsel",
        "Konsulenten ser på, om kommunens socialpsykiatri skal have sagen.",
    ),
    Hint.POSSIBLE_SUBSTANCE_ABUSE: (
        "Du skriver noget, der kan tyde på misbrug",
        "Konsulenten ser på, om kommunens misbrugsbehandling skal have sagen.",
    ),
    Hint.POSSIBLE_EVICTION: (
        "Du skriver noget, der kan tyde på risiko for udsættelse",
        "Konsulenten ser på, om kommunens udsættelsesforebyggelse skal have sagen.",
    ),
}


def hint_guidance_for(codes: Iterable[str]) -> list[HintGuidance]:
    """The Danish guidance of each hint read, danger first: triage's own texts when it has them, else intake's."""
    from services.intake.domain import triage  # noqa: PLC0415 - its texts may come later than its codes

    hints = [Hint(c) for c in codes]
    hints.sort(key=lambda h: h not in DANGER_HINTS)
    own = getattr(triage, "hint_guidance", None)
    if own is not None:
        return [HintGuidance.model_validate(item) for item in own([h.value for h in hints], lang="da")]
    return [
        HintGuidance(code=h, title=title, text=text, call_112=h in DANGER_HINTS)
        for h in hints
        for title, text in [_PLACEHOLDER_TEXTS[h]]
    ]
