"""Triage of the reporter's Danish free text: hint codes of possible danger (the text never leaves intake)."""

HINT_CODES: tuple[str, ...] = (
    "possible_suicide_risk",
    "possible_fall_or_helpless",
    "fire_or_gas",
    "violence_or_threats",
    "child_at_risk",
    "possible_hoarding",
    "possible_dementia",
    "possible_mental_health",
    "possible_substance_abuse",
    "possible_eviction",
)
"""Every hint code, in the order hints are reported."""

DANGER_HINTS: frozenset[str] = frozenset(
    {"possible_suicide_risk", "fire_or_gas", "possible_fall_or_helpless", "violence_or_threats"}
)
"""Hints that make a concern urgent (danger to life or health now)."""


def read_hints(*texts: str | None) -> tuple[str, ...]:
    """The hint codes the texts give (in HINT_CODES order, no duplicates); None and empty texts give none."""
    return ()


def lexicon_version() -> str:
    """The version of the lexicon in use ("<version>+<sha>")."""
    return "0+unset"
