"""`crp trace <concern id>` (shared/trace_view.py, shared/cli.py): the services' JSON-lines traces as a tree."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.cli import app as crp

pytestmark = pytest.mark.unit

CONCERN = "5f0c2a8e-2d1b-4c4e-9a51-0c8f3c1d7e20"
OTHER = "0b7e9c1a-6f2d-4a8b-b1c3-9d4e5f6a7b80"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_780_000_000_000_000_000
"""The trace's first start (ns)."""


def _span(
    span_id: str, parent: str | None, service: str, name: str, kind: str, start_ms: float, end_ms: float, **attrs
):
    """One record as shared/tracing.py's JsonLinesExporter writes it (record_of)."""
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "kind": kind,
        "service": service,
        "start_ns": T0 + int(start_ms * 1_000_000),
        "end_ns": T0 + int(end_ms * 1_000_000),
        "status": attrs.pop("status", "UNSET"),
        "attributes": attrs,
    }


def _write(directory: Path, service: str, records: list[dict], tail: str = "") -> None:
    with (directory / f"{service}.jsonl").open("a", encoding="utf-8") as out:
        out.write("".join(json.dumps(r) + "\n" for r in records) + tail)


@pytest.fixture
def trace_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three services' files of one concern's trace (written out of order, as batches are), and another concern's."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # crp's callback leaves os.environ alone
    monkeypatch.delenv("TRACE_DIR", raising=False)
    directory = tmp_path / "traces"
    directory.mkdir()
    _write(
        directory,
        "notify",
        [
            _span("a6", "a5", "notify", "referral-events process", "CONSUMER", 80, 90, **{"concern.id": CONCERN}),
            _span("a8", "a6", "notify", "email delivery", "PRODUCER", 86.5, 96, status="ERROR"),
            _span("a7", "a6", "notify", "webhook delivery", "PRODUCER", 85, 88.25),
        ],
        tail='{"trace_id": "4bf9',  # a line the running service has not finished writing
    )
    _write(
        directory,
        "routing",
        [
            _span("a3", "a2", "routing", "concern-events process", "CONSUMER", 40, 55, **{"concern.id": CONCERN}),
            _span("a5", "a3", "routing", "referral-events publish", "PRODUCER", 60, 62),
        ],
    )
    _write(
        directory,
        "intake",
        [
            _span("a2", "a1", "intake", "concern-events publish", "PRODUCER", 20, 25),
            _span("a1", None, "intake", "POST /v1/concerns", "SERVER", 0, 12.5, **{"http.route": "/v1/concerns"}),
            {
                **_span("b1", None, "intake", "POST /v1/concerns", "SERVER", 1, 3, **{"concern.id": OTHER}),
                "trace_id": "f" * 32,
            },
        ],
    )
    return directory


def _lines(output: str) -> list[tuple[int, str]]:
    """(indent, text) of each printed node: the column its service name starts at, the rest of the line."""
    found = []
    for line in output.splitlines():
        if match := re.search(r"\b(intake|routing|notify) ", line):
            found.append((match.start(), line[match.start() :].rstrip()))
    return found


def test_crp_trace_prints_the_hops_in_order_with_their_times_children_indented(trace_dir: Path) -> None:
    result = CliRunner().invoke(crp, ["trace", CONCERN, "--trace-dir", str(trace_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"trace {TRACE}"
    lines = _lines(result.output)
    assert [text for _, text in lines] == [
        "intake POST /v1/concerns +0.0 ms (12.5 ms)",
        "intake concern-events publish +20.0 ms (5.0 ms)",
        "routing concern-events process +40.0 ms (15.0 ms)",
        "routing referral-events publish +60.0 ms (2.0 ms)",
        "notify referral-events process +80.0 ms (10.0 ms)",
        "notify webhook delivery +85.0 ms (3.2 ms)",  # siblings in start order
        "notify email delivery +86.5 ms (9.5 ms) ERROR",
    ]
    indents = [indent for indent, _ in lines]
    assert indents[:5] == sorted(set(indents[:5]))  # each hop one level under the one before
    assert indents[5] == indents[6] > indents[4]  # both deliveries children of notify's consumer span
    assert OTHER not in result.output and "f" * 32 not in result.output


def test_crp_trace_reads_the_stack_home_s_traces_by_default(trace_dir: Path) -> None:
    result = CliRunner().invoke(crp, ["trace", OTHER, "--home", str(trace_dir.parent)])
    assert result.exit_code == 0, result.output
    assert [text for _, text in _lines(result.output)] == ["intake POST /v1/concerns +0.0 ms (2.0 ms)"]


def test_a_span_whose_parent_was_not_written_is_shown_as_a_root(trace_dir: Path) -> None:
    """A hop whose parent is in no file (another trace dir, a service not traced) is still shown."""
    (trace_dir / "intake.jsonl").unlink()
    result = CliRunner().invoke(crp, ["trace", CONCERN, "--trace-dir", str(trace_dir)])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines[0][1] == "routing concern-events process +0.0 ms (15.0 ms)"
    assert lines[0][0] == min(indent for indent, _ in lines)


@pytest.mark.parametrize("where", ["unknown concern", "no trace dir"])
def test_an_unknown_concern_exits_non_zero_and_says_where_it_looked(trace_dir: Path, where: str) -> None:
    concern, directory = (
        ("9a9a9a9a-0000-4000-8000-000000000000", trace_dir)
        if where == "unknown concern"
        else (CONCERN, trace_dir / "x")
    )
    result = CliRunner().invoke(crp, ["trace", concern, "--trace-dir", str(directory)])
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == f"no trace of concern {concern} in {directory}"
