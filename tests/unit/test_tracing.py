"""Tracing (shared/tracing.py): off costs nothing, only allowed attributes leave, traceparent survives each hop,
the sampler keeps whole traces."""

import asyncio
import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rich.console import Console

from shared import tracing
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.pipeline import Pipeline
from shared.outbox.kafka import KafkaSender
from shared.outbox.postgres import OutboxRow
from shared.trace_view import traces_of, tree_of

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _on(env: dict[str, str] | None = None) -> tuple[dict, InMemorySpanExporter]:
    """A private provider (not the global one) sampling as `env` says, as `setup` builds it; spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=tracing.sampler(env or {}))
    provider.add_span_processor(SimpleSpanProcessor(tracing.AllowListExporter(exporter)))
    return {"tracer": provider.get_tracer("test"), "provider": provider}, exporter


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Tracing on in this process with the default sampler, spans kept in memory."""
    state, exporter = _on()
    monkeypatch.setattr(tracing, "_state", state)
    return exporter


def test_off_installs_nothing_and_hooks_return_at_once() -> None:
    from opentelemetry import trace

    assert tracing.setup("intake", env={}) is False
    assert not tracing.enabled()
    assert tracing.traceparent() is None
    assert tracing.publishing([OutboxRow(1, "t", "k", "e", "x.v1", b"")], str) == {}
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_allow_list_drops_url_paths_statements_and_status_texts(exported: InMemorySpanExporter) -> None:
    with tracing.span("GET /receipts/{code}", kind="SERVER") as s:
        s.set_attributes(
            {
                "http.route": "/receipts/{code}",
                "url.path": "/receipts/RC-7QX4-SECRET",
                "http.target": "/receipts/RC-7QX4-SECRET?x=1",
                "url.full": "http://h/receipts/RC-7QX4-SECRET",
                "db.statement": "SELECT 'RC-7QX4-SECRET'",
                "concern.id": "c-1",
            }
        )
        s.record_exception(ValueError("RC-7QX4-SECRET"))
    (span,) = exported.get_finished_spans()
    assert dict(span.attributes) == {"http.route": "/receipts/{code}", "concern.id": "c-1"}
    assert "RC-7QX4-SECRET" not in json.dumps(tracing.record_of(span, "intake"))
    assert span.events == ()


def _message(topic: str, headers: tuple[tuple[str, bytes], ...], concern_id: str) -> RawMessage:
    value = json.dumps({"type": "concern.reported.v1", "concern_id": concern_id}).encode()
    return RawMessage(topic=topic, partition=0, offset=0, key=b"k", value=value, headers=headers)


class _Batch:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def append(self, **record: object) -> object:
        self.records.append(record)
        return object()


class _Producer:
    def __init__(self) -> None:
        self.batches: list[_Batch] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> _Batch:
        self.batches.append(_Batch())
        return self.batches[-1]

    async def send_batch(self, batch: _Batch, topic: str, partition: int) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_traceparent_round_trip_outbox_row_to_headers_to_pipeline(exported: InMemorySpanExporter) -> None:
    concern_id = str(uuid.uuid4())
    with tracing.span("POST /concerns", kind="SERVER") as request:
        stored = tracing.traceparent()  # what the outbox row's column default takes (tracing.bind)
    producer = _Producer()
    row = OutboxRow(1, "concern.reported.v1", "k", "e-1", "concern.reported.v1", b"{}", traceparent=stored)
    await KafkaSender(producer, {"concern.reported.v1": "p.concern.reported.v1"}).send([row])
    headers = tuple(producer.batches[0].records[0]["headers"])
    assert dict(headers)["ce_id"] == b"e-1"
    seen: list[str | None] = []

    async def apply(events: list) -> None:
        seen.append(tracing.traceparent())  # what a handler's outbox rows would carry

    pipeline = Pipeline(
        consumer="routing",
        decoder=lambda raw: SimpleNamespace(
            type=json.loads(raw)["type"], data=SimpleNamespace(concern_id=json.loads(raw)["concern_id"])
        ),
        apply=apply,
        handles={"concern.reported.v1"},
        dead_letters=InMemoryDeadLetters(),
    )
    outcome = await pipeline.process([_message("p.concern.reported.v1", headers, concern_id)])
    assert outcome.applied == 1

    spans = {s.name: s for s in exported.get_finished_spans()}
    publish, consume = spans["p.concern.reported.v1 publish"], spans["p.concern.reported.v1 process"]
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in spans.values()} == {trace_id}
    assert publish.parent.span_id == request.get_span_context().span_id
    assert consume.parent.span_id == publish.context.span_id
    assert consume.attributes["concern.id"] == concern_id
    assert [tp[:-3] for tp in seen if tp] == [f"00-{trace_id:032x}-{consume.context.span_id:016x}"]

    records = [tracing.record_of(s, "svc") for s in exported.get_finished_spans()]
    (tree,) = [tree_of(t, s) for t, s in traces_of(records, concern_id).items()]
    console = Console(record=True, width=200)
    console.print(tree)
    lines = console.export_text().splitlines()
    assert [i for i, line in enumerate(lines) for n in ("POST", "publish", "process") if n in line] == [1, 2, 3]


async def test_pipeline_off_applies_the_batch_in_one_call_without_spans() -> None:
    calls: list[int] = []

    async def apply(events: list) -> None:
        calls.append(len(events))

    pipeline = Pipeline(
        consumer="routing",
        decoder=lambda raw: SimpleNamespace(type="concern.reported.v1", data=None),
        apply=apply,
        handles={"concern.reported.v1"},
        dead_letters=InMemoryDeadLetters(),
    )
    await pipeline.process([_message("t", (), "c") for _ in range(3)])
    assert calls == [3]


def test_setup_from_trace_dir_writes_json_lines_without_the_receipt_code(tmp_path: Path) -> None:
    """A fresh process: TRACE_DIR set, a FastAPI app instrumented; health is not traced, the path's code never kept."""
    script = textwrap.dedent(
        """
        import os
        from fastapi import FastAPI
        from fastapi.testclient import TestClient
        from shared import tracing

        app = FastAPI()

        @app.get("/receipts/{code}")
        def receipt(code: str) -> dict:
            return {}

        @app.get("/healthz")
        def healthz() -> dict:
            return {}

        assert tracing.setup("intake", env={"TRACE_DIR": os.environ["DIR"]})
        tracing.instrument_app(app)
        with TestClient(app) as client:
            client.get("/receipts/RC-7QX4-SECRET?lang=da")
            client.get("/healthz")
        tracing.shutdown()
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={"DIR": str(tmp_path), "PATH": "/usr/bin"}, check=True)
    text = (tmp_path / "intake.jsonl").read_text()
    (span,) = [json.loads(line) for line in text.splitlines()]
    assert span["name"] == "GET /receipts/{code}" and span["kind"] == "SERVER" and span["service"] == "intake"
    assert span["attributes"]["http.route"] == "/receipts/{code}"
    assert "RC-7QX4-SECRET" not in text and "lang=da" not in text


def test_setup_with_an_otlp_endpoint_exports_the_allowed_spans_to_a_real_otlp_http_receiver(tmp_path: Path) -> None:
    """A fresh process with OTEL_EXPORTER_OTLP_ENDPOINT: its spans arrive as OTLP/HTTP protobuf at a real HTTP server
    in this test, under the service's name, with the path's receipt code dropped as in the JSON-lines files."""
    import http.server
    import threading

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = textwrap.dedent(
        """
        from fastapi import FastAPI
        from fastapi.testclient import TestClient
        from shared import tracing

        app = FastAPI()

        @app.get("/receipts/{code}")
        def receipt(code: str) -> dict:
            return {}

        assert tracing.setup("notify")
        tracing.instrument_app(app)
        with TestClient(app) as client:
            client.get("/receipts/RC-7QX4-SECRET")
        tracing.shutdown()
        """
    )
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "PATH": "/usr/bin"},
            check=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert [path for path, _ in received] == ["/v1/traces"]
    body = received[0][1]
    assert b"RC-7QX4-SECRET" not in body
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    spans = [span for scope in resource_spans.scope_spans for span in scope.spans]
    assert service == "notify"
    assert [span.name for span in spans] == ["GET /receipts/{code}"]
    assert "url.path" not in {a.key for a in spans[0].attributes}


RATIO = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}


def test_the_default_sampler_is_parent_based_always_on_and_a_wrong_setting_is_refused() -> None:
    def root(env: dict[str, str]) -> str:
        return tracing.sampler(env).get_description().partition(",")[0]

    assert root({}) == "ParentBased{root:AlwaysOnSampler"
    assert root({"OTEL_TRACES_SAMPLER": "parentbased_always_off"}) == "ParentBased{root:AlwaysOffSampler"
    assert root({**RATIO, "OTEL_TRACES_SAMPLER_ARG": "0.25"}) == "ParentBased{root:TraceIdRatioBased{0.25}"
    assert tracing.sampler({"OTEL_TRACES_SAMPLER": "traceidratio"}).get_description() == "TraceIdRatioBased{1.0}"
    for wrong in ({"OTEL_TRACES_SAMPLER": "sometimes"}, {**RATIO, "OTEL_TRACES_SAMPLER_ARG": "10%"}):
        with pytest.raises(ValueError, match="OTEL_TRACES_SAMPLER"):
            tracing.sampler(wrong)
    with pytest.raises(ValueError, match="OTEL_TRACES_SAMPLER_ARG"):
        tracing.sampler({**RATIO, "OTEL_TRACES_SAMPLER_ARG": "1.5"})


@pytest.mark.parametrize(("ratio", "kept"), [("0", 0), ("1", 50)])
def test_a_ratio_of_0_exports_no_span_and_1_every_one(monkeypatch: pytest.MonkeyPatch, ratio: str, kept: int) -> None:
    state, exporter = _on({**RATIO, "OTEL_TRACES_SAMPLER_ARG": ratio})
    monkeypatch.setattr(tracing, "_state", state)
    for _ in range(50):
        with tracing.span("POST /v1/concerns", kind="SERVER"), tracing.span("accept"):
            pass
    spans = exporter.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == kept
    assert len(spans) == 2 * kept


async def _hop(monkeypatch: pytest.MonkeyPatch, stored: str | None, consumer_state: dict) -> str | None:
    """One outbox row (its stored traceparent) through KafkaSender's headers into the next service's Pipeline,
    whose provider is `consumer_state`'s; the traceparent the handler's own outbox rows would carry."""
    producer = _Producer()
    row = OutboxRow(1, "concern.reported.v1", "k", "e-1", "concern.reported.v1", b"{}", traceparent=stored)
    await KafkaSender(producer, {"concern.reported.v1": "p.concern.reported.v1"}).send([row])
    headers = tuple(producer.batches[0].records[0]["headers"])
    monkeypatch.setattr(tracing, "_state", consumer_state)
    seen: list[str | None] = []

    async def apply(events: list) -> None:
        seen.append(tracing.traceparent())

    pipeline = Pipeline(
        consumer="routing",
        decoder=lambda raw: SimpleNamespace(type="concern.reported.v1", data=SimpleNamespace(concern_id="c-1")),
        apply=apply,
        handles={"concern.reported.v1"},
        dead_letters=InMemoryDeadLetters(),
    )
    assert (await pipeline.process([_message("p.concern.reported.v1", headers, "c-1")])).applied == 1
    (handed_on,) = seen
    return handed_on


@pytest.mark.parametrize(
    ("root_sampled", "downstream"),
    [(True, {**RATIO, "OTEL_TRACES_SAMPLER_ARG": "0"}), (False, {"OTEL_TRACES_SAMPLER": "parentbased_always_on"})],
    ids=["sampled-root-downstream-ratio-0", "unsampled-root-downstream-always-on"],
)
async def test_the_root_s_decision_holds_across_the_kafka_hop(
    monkeypatch: pytest.MonkeyPatch, root_sampled: bool, downstream: dict
) -> None:
    """Intake decides at the POST; its relay and routing, whatever their own ratio, follow that decision."""
    root_env = {**RATIO, "OTEL_TRACES_SAMPLER_ARG": "1" if root_sampled else "0"}
    (intake, intake_spans), (routing, routing_spans) = _on(root_env), _on(downstream)
    monkeypatch.setattr(tracing, "_state", intake)
    with tracing.span("POST /v1/concerns", kind="SERVER") as request:
        stored = tracing.traceparent()
    trace_id = f"{request.get_span_context().trace_id:032x}"
    assert stored is not None and stored.startswith(f"00-{trace_id}-")
    handed_on = await _hop(monkeypatch, stored, routing)

    assert handed_on is not None and handed_on.startswith(f"00-{trace_id}-")  # the same trace either way
    assert bool(int(handed_on[-2:], 16) & 0x01) is root_sampled  # the flags' sampled bit
    names = [s.name for s in intake_spans.get_finished_spans() + routing_spans.get_finished_spans()]
    expected = ["POST /v1/concerns", "p.concern.reported.v1 publish", "p.concern.reported.v1 process"]
    assert sorted(names) == (sorted(expected) if root_sampled else [])


async def test_a_ratio_keeps_whole_traces_never_half(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two services at a ratio of 0.5: each concern's trace is all there (request, publish, process) or not at all."""
    half = {**RATIO, "OTEL_TRACES_SAMPLER_ARG": "0.5"}
    (intake, intake_spans), (routing, routing_spans) = _on(half), _on(half)
    for _ in range(200):
        monkeypatch.setattr(tracing, "_state", intake)
        with tracing.span("POST /v1/concerns", kind="SERVER"):
            stored = tracing.traceparent()
        await _hop(monkeypatch, stored, routing)
    per_trace: dict[int, int] = {}
    for s in intake_spans.get_finished_spans() + routing_spans.get_finished_spans():
        per_trace[s.context.trace_id] = per_trace.get(s.context.trace_id, 0) + 1
    assert set(per_trace.values()) == {3}  # no trace lost a hop
    assert 40 < len(per_trace) < 160  # and about half the concerns were traced


def test_setup_samples_as_its_environment_says(tmp_path: Path) -> None:
    """`setup` takes the sampler from the environment it is given: at a ratio of 0 no span reaches the file."""
    script = textwrap.dedent(
        """
        import os
        from shared import tracing

        env = {"TRACE_DIR": os.environ["DIR"], "OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}
        for ratio in ("0", "1"):
            tracing.setup(ratio, env={**env, "OTEL_TRACES_SAMPLER_ARG": ratio})
            for _ in range(5):
                with tracing.span("POST /v1/concerns", kind="SERVER"):
                    pass
            tracing.shutdown()
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={"DIR": str(tmp_path), "PATH": "/usr/bin"}, check=True)
    assert not (tmp_path / "0.jsonl").exists()
    assert len((tmp_path / "1.jsonl").read_text().splitlines()) == 5
