"""The benchmark harness: percentiles, /proc memory fields, the end-to-end summary, the merge of results."""

import json

import pytest

from bench import harness
from bench.e2e_load import Sent, pooled, summarise
from bench.harness import BenchResult, percentile, status_kb

pytestmark = pytest.mark.unit

STATUS = """Name:\tpython
VmPeak:\t  812344 kB
VmHWM:\t   98712 kB
VmRSS:\t   91000 kB
Threads:\t5
"""


def test_percentile_is_the_nearest_rank_of_measured_values() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0, 1.0, 3.0], 50) == 3.0
    assert percentile([7.0, 1.0, 3.0], 99) == 7.0  # a small sample's p99 is its maximum, never above it
    assert percentile([4.0], 1) == 4.0
    assert percentile([], 99) == 0.0


def test_status_kb_reads_the_named_field_only() -> None:
    assert status_kb(STATUS, "VmHWM") == 98712
    assert status_kb(STATUS, "VmRSS") == 91000
    assert status_kb(STATUS, "VmSwap") == 0


def test_summarise_measures_from_the_post_to_the_first_arrival_and_counts_the_missing() -> None:
    sent = [Sent(f"c{i}", sent_at=100.0 + i, answered_at=100.1 + i) for i in range(10)]
    arrivals = {f"c{i}": 100.5 + i for i in range(9)}  # c9 never arrived
    routed = {f"c{i}": 100.2 + i for i in range(9)}
    outcome = summarise(sent, arrivals, routed)
    assert outcome.answered == 10 and outcome.delivered == 9
    assert outcome.p50_ms == pytest.approx(500) and outcome.p99_ms == pytest.approx(500)
    assert outcome.answer_p99_ms == pytest.approx(100)
    assert outcome.routed_p50_ms == pytest.approx(200) and outcome.notified_p50_ms == pytest.approx(300)
    assert outcome.throughput == pytest.approx(1.0)  # 8 gaps between 9 webhooks over 8 s
    assert outcome.first_post_to_last_webhook == pytest.approx(9 / 8.5)
    assert outcome.send_span_s == pytest.approx(9)


def test_summarise_of_nothing_delivered_is_zero_not_an_error() -> None:
    outcome = summarise([Sent("c", 1.0, 1.1)], {})
    assert (outcome.delivered, outcome.throughput, outcome.p99_ms) == (0, 0.0, 0.0)


def test_pooled_runs_share_percentiles_and_average_their_rates() -> None:
    fast = [Sent(f"f{i}", 100.0 + i, 100.0 + i) for i in range(5)]  # 1/s, 100 ms late
    slow = [Sent(f"s{i}", 200.0 + i / 2, 200.0 + i / 2) for i in range(5)]  # 2/s, 900 ms late
    arrivals = {s.concern_id: s.sent_at + 0.1 for s in fast} | {s.concern_id: s.sent_at + 0.9 for s in slow}
    outcome = pooled([fast, slow], arrivals)
    assert outcome.throughput == pytest.approx(1.5)  # not 9 webhooks over the 100 s between the runs
    assert outcome.p50_ms == pytest.approx(100) and outcome.p99_ms == pytest.approx(900)
    assert (outcome.answered, outcome.delivered, outcome.send_span_s) == (10, 10, 4)


def test_lower_is_better_ratio_is_baseline_over_value() -> None:
    memory = BenchResult("memory", "peak", "MB", value=100.0, baseline="idle", baseline_value=60.0)
    assert memory.ratio == pytest.approx(1 / 0.6)
    lower = BenchResult("memory", "peak", "MB", 100.0, "idle", 60.0, higher_is_better=False)
    assert lower.ratio == pytest.approx(0.6)


def test_a_rerun_benchmark_replaces_all_its_rows_and_keeps_the_others(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(harness, "RESULTS_JSON", tmp_path / "b.json")
    monkeypatch.setattr(harness, "RESULTS_MD", tmp_path / "b.md")
    harness.write_results(
        [
            BenchResult("end to end", "100/s offered: p99", "ms", 9.0, "bare", 3.0, higher_is_better=False),
            BenchResult("end to end", "25/s offered: p99", "ms", 5.0, "bare", 2.0, higher_is_better=False),
            BenchResult("intake", "req/s", "req/s", 100.0, "bare", 200.0),
        ]
    )
    harness.write_results([BenchResult("end to end", "50/s offered: p99", "ms", 6.0, "bare", 3.0)])
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    assert [(r["benchmark"], r["metric"]) for r in rows] == [
        ("end to end", "50/s offered: p99"),
        ("intake", "req/s"),
    ]
    table = (tmp_path / "b.md").read_text()
    assert "| end to end | 50/s offered: p99 | 6.0 ms | bare | 3.0 ms | 2.00 |" in table
    assert "100/s offered" not in table and "## Reading the table" in table


def test_rows_of_a_benchmark_sort_by_rate_as_numbers(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(harness, "RESULTS_JSON", tmp_path / "b.json")
    monkeypatch.setattr(harness, "RESULTS_MD", tmp_path / "b.md")
    harness.write_results([BenchResult("e", f"{rate}/s offered", "ms", 1.0, "b", 1.0) for rate in (200, 25, 100, 50)])
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    assert [r["metric"] for r in rows] == ["25/s offered", "50/s offered", "100/s offered", "200/s offered"]
