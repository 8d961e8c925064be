"""What tracing costs while it is off: the shared pipeline's `process` as shipped against the same with its hook gone.

Batches of 500 decodable messages through `Pipeline.process` with an `apply` that does nothing, so the pipeline's
own work is all there is to measure; tracing is off (no TRACE_DIR, no OTLP endpoint), as in production by default.
The baseline replaces the pipeline's `tracing` module with one whose `enabled` is a constant, interleaved with
the measured runs in the same process. Reported as a ratio (about 1.0 expected); nothing here is asserted.
"""

import json
import time
from types import SimpleNamespace

from bench.harness import BenchContext, BenchResult
from shared import tracing
from shared.kafka import pipeline as pipeline_module
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.pipeline import Pipeline

BATCH = 500
BATCHES = 40
ROUNDS = 7
_BYPASSED = SimpleNamespace(enabled=lambda: False)


async def _nothing(events: list) -> None:
    return None


def _pipeline() -> Pipeline:
    return Pipeline(
        consumer="bench",
        decoder=lambda raw: SimpleNamespace(type="concern.reported.v1", data=None),
        apply=_nothing,
        handles={"concern.reported.v1"},
        dead_letters=InMemoryDeadLetters(),
    )


async def _rate(pipeline: Pipeline, batch: list[RawMessage]) -> float:
    started = time.perf_counter()
    for _ in range(BATCHES):
        await pipeline.process(batch)
    return BATCH * BATCHES / (time.perf_counter() - started)


async def run(context: BenchContext) -> list[BenchResult]:
    """Events per second through process() with tracing off, against the hook bypassed; best of interleaved rounds."""
    assert not tracing.enabled(), "the bench measures tracing off"
    value = json.dumps({"type": "concern.reported.v1"}).encode()
    batch = [RawMessage("t", 0, n, b"k", value, ()) for n in range(BATCH)]
    pipeline = _pipeline()
    shipped, bypassed = [], []
    await _rate(pipeline, batch)  # warm up
    for _ in range(ROUNDS):
        shipped.append(await _rate(pipeline, batch))
        pipeline_module.tracing = _BYPASSED  # type: ignore[assignment]
        try:
            bypassed.append(await _rate(pipeline, batch))
        finally:
            pipeline_module.tracing = tracing
    return [
        BenchResult(
            "tracing", "pipeline events/s, tracing off", "events/s", max(shipped), "the same with the hook bypassed",
            max(bypassed), details={"batch": BATCH, "batches": BATCHES, "rounds": ROUNDS},
        )
    ]  # fmt: skip
