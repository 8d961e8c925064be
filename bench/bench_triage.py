"""intake's triage: precision and recall per hint on the labelled set, and what reading the text costs a POST.

Quality: tests/data/triage_labelled.yaml read by `read_hints`, against the same lexicon without its negation
cues and exclusions (what a bare keyword list would find), in the same run. Every miss and every wrong find is
printed and kept in the JSON's details (the sentences are fictitious, written for the set).

Cost: descriptions of realistic length built from the set (one to six sentences; one in fifty of 1500 to 4000
characters, the description's limit). The CPU work of a POST in intake (validate the body, fingerprint it,
build the concern, seal its details, build and encode concern.reported.v1) is measured with and without
`read_hints`, interleaved, in this process; HTTP and the INSERT only add to both, so the ratio is the stricter
one. The added p99 is read_hints' own p99 on the same descriptions (wall clock, and the thread's CPU time,
which a loaded machine does not inflate by preempting it); the issue's budget is 1 ms. read_hints on texts at
the 4000-character limit is reported on its own.
"""

import random
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import yaml
from rich.console import Console

from bench.harness import BenchContext, BenchResult, percentile
from services.intake.adapters.sealing import Sealer
from services.intake.domain import triage
from services.intake.domain.concern import fingerprint, new_concern
from services.intake.domain.directory import Department
from services.intake.domain.events import concern_reported
from services.intake.domain.report import ConcernReport
from shared.contracts.envelope import encode
from shared.contracts.vocabulary import IntakeChannel
from tests.support.triage_scoring import DANGER_PRECISION, DANGER_RECALL, load_labelled, report_lines, score

DESCRIPTIONS = 400
ROUNDS = 5
BUDGET_US = 1000.0
MAX_DESCRIPTION = 4000
DEPARTMENT = Department("holbaek-1", "org-demo", "Ladegårdsparken", "0316", 412)

console = Console(soft_wrap=True)


def _descriptions(texts: list[str], rng: random.Random) -> list[str]:
    out = []
    for i in range(DESCRIPTIONS):
        if i % 50 == 49:
            out.append(_long(texts, rng, rng.randint(1500, MAX_DESCRIPTION)))
        else:
            out.append(" ".join(rng.sample(texts, rng.randint(1, 6))) + " (Fiktivt benchmark-eksempel.)")
    return out


def _long(texts: list[str], rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(texts))
    return " ".join(words)[:length]


def _body(description: str) -> dict:
    return {
        "department_id": "holbaek-1",
        "tenancy_id": "bench-1",
        "categories": ["loneliness"],
        "severity": "medium",
        "description": description,
        "observed_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "reporter": {"role": "caretaker", "name": "Bench Vicevært", "contact": "bench@example.org"},
        "resident": {"name": "Fiktiv Beboer", "address": "Benchvej 1, 4300 Holbæk"},
        "consent": "given",
    }


def _post_work(body: dict, sealer: Sealer, key: bytes, with_triage: bool) -> float:
    """Seconds of intake's CPU work for one POST body (with or without reading it for hints)."""
    started = time.perf_counter()
    report = ConcernReport.model_validate(body)
    request_hash = fingerprint(report, key)
    hints = triage.read_hints(report.description) if with_triage else ()
    concern = new_concern(
        report, DEPARTMENT, now=datetime.now(UTC), channel=IntakeChannel.HTTP, subject_key_secret="s" * 32,
        request_hash=request_hash, hints=hints,
    )  # fmt: skip
    sealer.seal(concern.id, concern.sealed_details())
    encode(concern_reported(concern, source="/services/intake"))
    return time.perf_counter() - started


def _bare_lexicon() -> triage.Lexicon:
    """The same phrases without negation cues or exclusions: what plain keyword spotting finds."""
    document = yaml.safe_load(triage.LEXICON_FILE.read_text(encoding="utf-8"))
    document["negation"]["cues"] = []
    for entry in document["hints"].values():
        entry["exclusions"] = []
        for item in entry["phrases"]:
            item["negatable"] = True
    return triage.compile_lexicon(document, "bare")


def _quality() -> list[BenchResult]:
    sentences = load_labelled()
    scores = score(triage.read_hints, sentences)
    bare_lexicon = _bare_lexicon()
    bare = score(lambda text: triage.hints_in(bare_lexicon, text), sentences)
    lines = report_lines(scores)
    for line in lines:
        console.print(f"  {line}", markup=False, highlight=False)
    results = []
    for code, s in scores.items():
        danger = code in triage.DANGER_HINTS
        misses = "; ".join(f"#{m.number} {m.text}" for m in s.missed) or "none"
        wrong = "; ".join(f"#{m.number} {m.text}" for m in s.wrongly_found) or "none"
        common = {
            "sentences": len(sentences), "positives": s.positives, "found": s.true_positives,
            "missed": s.false_negatives, "wrongly_found": s.false_positives, "lexicon": triage.lexicon_version(),
        }  # fmt: skip
        results.append(
            BenchResult(
                "triage", f"recall {code}", "%", 100 * s.recall, "keywords without negation or exclusions",
                100 * bare[code].recall,
                details=common | {"target": f">= {DANGER_RECALL:.2f}" if danger else "", "misses": misses},
            )
        )  # fmt: skip
        results.append(
            BenchResult(
                "triage", f"precision {code}", "%", 100 * s.precision, "keywords without negation or exclusions",
                100 * bare[code].precision,
                details=common | {"target": f">= {DANGER_PRECISION:.2f}" if danger else "", "wrongly_found": wrong},
            )
        )  # fmt: skip
    return results


def _cost() -> list[BenchResult]:
    rng = random.Random(16)
    descriptions = _descriptions([s.text for s in load_labelled()], rng)
    bodies = [_body(d) for d in descriptions]
    sealer, key = Sealer(secrets.token_bytes(32)), secrets.token_bytes(32)
    for body in bodies[:50]:  # warm caches and pydantic
        _post_work(body, sealer, key, True)
        _post_work(body, sealer, key, False)
    with_triage: list[float] = []
    without: list[float] = []
    alone: list[float] = []
    alone_cpu: list[float] = []
    for _ in range(ROUNDS):
        for body in bodies:
            without.append(_post_work(body, sealer, key, False))
            with_triage.append(_post_work(body, sealer, key, True))
            cpu, started = time.thread_time(), time.perf_counter()
            triage.read_hints(body["description"])
            alone.append(time.perf_counter() - started)
            alone_cpu.append(time.thread_time() - cpu)
    longest = [_long([s.text for s in load_labelled()], rng, MAX_DESCRIPTION) for _ in range(20)]
    at_limit: list[float] = []
    for _ in range(ROUNDS):
        for text in longest:
            cpu = time.thread_time()
            triage.read_hints(text)
            at_limit.append(time.thread_time() - cpu)
    p99_with, p99_without = percentile(with_triage, 99) * 1e6, percentile(without, 99) * 1e6
    p99_alone = percentile(alone, 99) * 1e6
    p99_cpu = percentile(alone_cpu, 99) * 1e6
    lengths = sorted(len(d) for d in descriptions)
    details = {
        "descriptions": len(descriptions), "rounds": ROUNDS, "median_chars": lengths[len(lengths) // 2],
        "max_chars": lengths[-1], "read_hints_p50_us": round(percentile(alone, 50) * 1e6, 1),
        "read_hints_p99_us": round(p99_alone, 1), "read_hints_p99_cpu_us": round(p99_cpu, 1),
        "added_p99_us": round(p99_alone, 1), "budget_us": BUDGET_US,
        "within_budget": "yes" if p99_cpu < BUDGET_US else "no",
        "at_4000_chars_p50_cpu_us": round(percentile(at_limit, 50) * 1e6, 1),
        "at_4000_chars_p99_cpu_us": round(percentile(at_limit, 99) * 1e6, 1),
        "findall_4000_chars_us": round(_calibration(longest[0]), 1),
        "lexicon": triage.lexicon_version(),
    }  # fmt: skip
    console.print(f"  read_hints p99 {p99_alone:.0f} µs wall, {p99_cpu:.0f} µs CPU (budget {BUDGET_US:.0f} µs); "
                  f"POST work p99 {p99_with:.0f} µs with triage, {p99_without:.0f} µs without; at 4000 characters "
                  f"p99 {details['at_4000_chars_p99_cpu_us']:.0f} µs CPU")  # fmt: skip
    return [
        BenchResult(
            "triage", "POST work p99 with triage (lower is better)", "µs", p99_with, "the same work without triage",
            p99_without, higher_is_better=False, details=details,
        ),
        BenchResult(
            "triage", "read_hints p99, CPU time (lower is better)", "µs", p99_cpu, "the issue's budget for triage",
            BUDGET_US, target_ratio=1.0, higher_is_better=False, details=details,
        ),
    ]  # fmt: skip


def _calibration(text: str) -> float:
    """µs to split the text into words with a bare regex: how fast this machine is right now."""
    started = time.thread_time()
    for _ in range(20):
        re.findall(r"\w+", text)
    return (time.thread_time() - started) / 20 * 1e6


async def run(context: BenchContext) -> list[BenchResult]:  # noqa: ARG001 - needs no stack: all in this process
    """Precision and recall per hint, then the cost of triage to a POST."""
    return _quality() + _cost()
