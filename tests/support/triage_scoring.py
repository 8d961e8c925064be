"""Scoring triage on the labelled set (tests/data/triage_labelled.yaml): precision and recall per hint, every miss.

Shared by the unit test (which asserts the targets) and the triage benchmark (which reports them). The
sentences are fictitious; the misses are listed by the sentence's number in the file, with its text, for the
developer reading the report (never from a reporter's concern).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from services.intake.domain.triage import DANGER_HINTS, HINT_CODES

LABELLED = Path(__file__).resolve().parents[1] / "data" / "triage_labelled.yaml"
DANGER_RECALL = 0.95
DANGER_PRECISION = 0.8


@dataclass(frozen=True)
class Labelled:
    """One sentence of the set and the hints a consultant reads in it."""

    number: int
    text: str
    hints: frozenset[str]


@dataclass
class HintScore:
    """Counts for one hint over the set, and the sentences it got wrong."""

    code: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    missed: list[Labelled] = field(default_factory=list)
    wrongly_found: list[Labelled] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Of the sentences it found the hint in, the share that have it (1.0 when it found none)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """Of the sentences that have the hint, the share it found (1.0 when none have it)."""
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def positives(self) -> int:
        """How many sentences of the set have the hint."""
        return self.true_positives + self.false_negatives

    @property
    def meets_danger_target(self) -> bool:
        """Recall and precision at the issue's target for a danger hint."""
        return self.recall >= DANGER_RECALL and self.precision >= DANGER_PRECISION


def load_labelled(path: Path = LABELLED) -> list[Labelled]:
    """Every sentence of the set; ValueError on an unknown hint code."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    sentences = []
    for number, item in enumerate(document["sentences"], start=1):
        hints = frozenset(item["hints"])
        if hints - set(HINT_CODES):
            raise ValueError(f"sentence {number}: unknown hints {sorted(hints - set(HINT_CODES))}")
        sentences.append(Labelled(number, item["text"], hints))
    return sentences


def score(read: Callable[[str], tuple[str, ...]], sentences: list[Labelled]) -> dict[str, HintScore]:
    """Precision and recall per hint of `read` (e.g. read_hints) on the sentences."""
    scores = {code: HintScore(code) for code in HINT_CODES}
    for sentence in sentences:
        found = set(read(sentence.text))
        for code, s in scores.items():
            if code in found and code in sentence.hints:
                s.true_positives += 1
            elif code in found:
                s.false_positives += 1
                s.wrongly_found.append(sentence)
            elif code in sentence.hints:
                s.false_negatives += 1
                s.missed.append(sentence)
    return scores


def report_lines(scores: dict[str, HintScore]) -> list[str]:
    """A plain-text report: one line per hint, then every miss and every wrong find."""
    lines = []
    for code, s in scores.items():
        danger = " (danger)" if code in DANGER_HINTS else ""
        lines.append(
            f"{code}{danger}: precision {s.precision:.2f}, recall {s.recall:.2f} "
            f"({s.true_positives} found, {s.false_negatives} missed, {s.false_positives} wrongly found)"
        )
    for code, s in scores.items():
        lines += [f"  missed {code}: #{m.number} {m.text}" for m in s.missed]
        lines += [f"  wrongly found {code}: #{m.number} {m.text}" for m in s.wrongly_found]
    return lines
