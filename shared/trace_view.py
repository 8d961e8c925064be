"""Reading the local stack's traces (`$TRACE_DIR/<service>.jsonl`, shared/tracing.py) for `crp trace`."""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.tree import Tree


def read_spans(trace_dir: Path) -> list[dict[str, Any]]:
    """Every span every service wrote (a line cut short by a running writer is skipped)."""
    spans = []
    for path in sorted(trace_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                spans.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return spans


def traces_of(spans: Iterable[dict[str, Any]], concern_id: str) -> dict[str, list[dict[str, Any]]]:
    """The spans of each trace in which some span carries `concern_id`, by trace id, in start order."""
    spans = list(spans)
    ids = {s["trace_id"] for s in spans if s.get("attributes", {}).get("concern.id") == concern_id}
    traces: dict[str, list[dict[str, Any]]] = {}
    for s in sorted(spans, key=lambda s: s["start_ns"]):
        if s["trace_id"] in ids:
            traces.setdefault(s["trace_id"], []).append(s)
    return traces


def tree_of(trace_id: str, spans: list[dict[str, Any]]) -> Tree:
    """A trace as a tree: each span's service, name, start offset from the trace's first span and duration."""
    start = min(s["start_ns"] for s in spans)
    known = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:  # a span whose parent is not in the files (not sampled, or another trace dir) is a root
        parent = s.get("parent_span_id") if s.get("parent_span_id") in known else None
        children.setdefault(parent, []).append(s)
    root = Tree(f"trace {trace_id}")

    def add(node: Tree, parent: str | None) -> None:
        for s in children.get(parent, []):
            offset_ms = (s["start_ns"] - start) / 1e6
            duration_ms = (s["end_ns"] - s["start_ns"]) / 1e6
            status = "" if s.get("status") in (None, "UNSET", "OK") else f" [red]{s['status']}[/red]"
            label = f"[bold]{s['service']}[/bold] {s['name']} +{offset_ms:.1f} ms ({duration_ms:.1f} ms){status}"
            add(node.add(label), s["span_id"])

    add(root, None)
    return root
