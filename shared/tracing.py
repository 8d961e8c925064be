"""One trace per concern (OpenTelemetry), off unless the environment asks for it.

`setup(service)` at start: OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, else JSON lines in
`$TRACE_DIR/<service>.jsonl` when TRACE_DIR is set, else nothing (no provider; every hook returns at once).
Sampling (`sampler`): the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, read from the same environment,
parentbased_always_on when unset; a name or ratio it does not know stops the start. Parent-based samplers keep
whole traces: the decision taken at the trace's root (intake's POST) rides in the traceparent's sampled flag
through the outbox rows and Kafka headers, and every later hop follows it. Every exporter sees spans through
`ALLOWED`: URL paths and queries (a receipt code in a GET path), SQL and exception texts never leave the process.

Across Kafka the W3C `traceparent` rides in the record headers (the CloudEvents distributed-tracing extension);
outbox rows and notify's deliveries keep the one of the span current when they were written (`bind`).
No asyncpg or aiokafka instrumentation: docs/operations.md ("Tracing") says why.
"""

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

_state: dict[str, Any] = {}
"""`tracer` once `setup` installed a provider; empty while tracing is off."""

ALLOWED = frozenset(
    {
        "http.route",
        "http.method",
        "http.request.method",
        "http.status_code",
        "http.response.status_code",
        "messaging.system",
        "messaging.destination.name",
        "messaging.operation",
        "messaging.operation.type",
        "messaging.consumer.group.name",
        "messaging.kafka.destination.partition",
        "event.type",
        "concern.id",
        "referral.id",
        "delivery.channel",
        "db.system",
        "db.operation",
        "error.type",
    }
)
"""The only span attributes exported (url.path, http.target, url.full, db.statement and the rest are dropped)."""

TRACEPARENT = "traceparent"
EXCLUDED_URLS = "/healthz$,/readyz$,/metrics$"


def enabled() -> bool:
    """True once `setup` installed a tracer provider."""
    return bool(_state)


SAMPLERS = (
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
    "always_on",
    "always_off",
    "traceidratio",
)
"""The OTEL_TRACES_SAMPLER values understood (the SDK's built-in ones); the first is the default."""


def sampler(env: Mapping[str, str] = os.environ) -> Any:
    """The sampler OTEL_TRACES_SAMPLER names (OTEL_TRACES_SAMPLER_ARG: the ratio of *traceidratio, default 1.0).

    Use a parentbased_* sampler, the same in every service: a plain traceidratio or always_* one decides again
    at each hop. ValueError for a name or ratio it does not know (the SDK would fall back to tracing all)."""
    from opentelemetry.sdk.trace import sampling

    name = (env.get("OTEL_TRACES_SAMPLER") or SAMPLERS[0]).strip().lower()
    if name not in SAMPLERS:
        raise ValueError(f"OTEL_TRACES_SAMPLER={name!r} is not one of {', '.join(SAMPLERS)}")
    if name.endswith("traceidratio"):
        arg = (env.get("OTEL_TRACES_SAMPLER_ARG") or "1.0").strip()
        try:
            ratio = float(arg)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"OTEL_TRACES_SAMPLER_ARG={arg!r} is no ratio between 0 and 1")
        root: Any = sampling.TraceIdRatioBased(ratio)
    else:
        root = sampling.ALWAYS_ON if name.endswith("always_on") else sampling.ALWAYS_OFF
    return sampling.ParentBased(root) if name.startswith("parentbased_") else root


def setup(service: str, env: Mapping[str, str] = os.environ) -> bool:
    """Install the provider the environment asks for (once per process); False (nothing installed) when off."""
    if enabled():
        return True
    endpoint, trace_dir = env.get("OTEL_EXPORTER_OTLP_ENDPOINT"), env.get("TRACE_DIR")
    if not endpoint and not trace_dir:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    chosen = sampler(env)  # before anything is installed: a wrong setting stops the start
    exporter: SpanExporter
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers and timeout from the OTEL_* environment
    else:
        exporter = JsonLinesExporter(Path(str(trace_dir)) / f"{service}.jsonl", service)
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=chosen)
    provider.add_span_processor(BatchSpanProcessor(AllowListExporter(exporter)))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _state.update(tracer=provider.get_tracer("crp"), provider=provider, service=service)
    return True


def shutdown() -> None:
    """Flush and stop the provider (tests; the SDK also does it at exit)."""
    if provider := _state.pop("provider", None):
        provider.shutdown()
    _state.clear()


def instrument_app(app: Any) -> None:
    """Server spans for the app's routes (not health, readiness or metrics; no send/receive sub-spans)."""
    if not enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_state["provider"], excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"]
    )


def traceparent() -> str | None:
    """The W3C traceparent of the current span (None when off or no span is current).

    An unsampled span has one too (flags 00): what continues from it stays unsampled, as its trace's root decided."""
    if not enabled():
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get(TRACEPARENT)


def _context(parent: str | None) -> Any:
    from opentelemetry.propagate import extract

    return extract({TRACEPARENT: parent} if parent else {})


def header(headers: Sequence[tuple[str, bytes]]) -> str | None:
    """The traceparent a record's headers carry, if any."""
    for key, value in headers:
        if key == TRACEPARENT:
            return value.decode("ascii", "replace")
    return None


def concern_id_of(event: Any) -> str | None:
    """The concern id of a decoded event (a UUID, never personal), when its data names one."""
    value = getattr(getattr(event, "data", None), "concern_id", None)
    return str(value) if value is not None else None


@contextlib.contextmanager
def span(name: str, *, kind: str = "INTERNAL", parent: str | None = None, **attributes: Any) -> Iterator[Any]:
    """A current span named `name` (child of `parent`, a traceparent, when given, else of the current span)."""
    from opentelemetry.trace import SpanKind

    context = _context(parent) if parent else None
    attrs = {k.replace("_", "."): v for k, v in attributes.items() if v is not None}
    with _state["tracer"].start_as_current_span(name, context=context, kind=SpanKind[kind], attributes=attrs) as s:
        yield s


def consuming(consumer: str, message: Any, event: Any) -> contextlib.AbstractContextManager[Any]:
    """The CONSUMER span of one message: child of the traceparent in its headers."""
    return span(
        f"{message.topic} process",
        kind="CONSUMER",
        parent=header(message.headers),
        messaging_system="kafka",
        messaging_operation="process",
        messaging_destination_name=message.topic,
        messaging_consumer_group_name=consumer,
        event_type=getattr(event, "type", None),
        concern_id=concern_id_of(event),
    )


def publishing(rows: Sequence[Any], topic_of: Any) -> dict[int, tuple[Any, str]]:
    """A PRODUCER span per outbox row (child of the row's stored traceparent) and its traceparent, by row id."""
    if not enabled():
        return {}
    from opentelemetry.propagate import inject
    from opentelemetry.trace import SpanKind, set_span_in_context

    spans: dict[int, tuple[Any, str]] = {}
    for row in rows:
        topic = topic_of(row.topic)
        s = _state["tracer"].start_span(
            f"{topic} publish",
            context=_context(getattr(row, "traceparent", None)),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation": "publish",
                "messaging.destination.name": topic,
                "event.type": row.event_type,
            },
        )
        carrier: dict[str, str] = {}
        inject(carrier, context=set_span_in_context(s))
        spans[row.id] = (s, carrier.get(TRACEPARENT, ""))
    return spans


def end(spans: Mapping[int, tuple[Any, str]]) -> None:
    """End the spans `publishing` started."""
    for s, _ in spans.values():
        s.end()


async def bind(conn: Any) -> None:
    """Pool `setup`: the connection's rows (outbox, deliveries) default to the current span's traceparent."""
    await conn.execute("SELECT set_config('crp.traceparent', $1, false)", traceparent() or "")


def _scrub(span: Any) -> Any:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import Link
    from opentelemetry.trace.status import Status

    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={k: v for k, v in (span.attributes or {}).items() if k in ALLOWED},
        links=[Link(link.context) for link in span.links],
        kind=span.kind,
        status=Status(span.status.status_code),  # no description: an exception's text may quote a value
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class AllowListExporter:
    """Hands the wrapped exporter copies of the spans with only ALLOWED attributes, no events, no status text."""

    def __init__(self, inner: Any):
        self._inner = inner

    def export(self, spans: Sequence[Any]) -> Any:
        """Export the scrubbed copies."""
        return self._inner.export([_scrub(s) for s in spans])

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the wrapped exporter."""
        return self._inner.force_flush(timeout_millis)


def record_of(span: Any, service: str) -> dict[str, Any]:
    """A span as one JSON-lines record."""
    parent = span.parent
    return {
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_span_id": f"{parent.span_id:016x}" if parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": service,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


class JsonLinesExporter:
    """Appends one JSON object per span to a file (the local stack's traces; `crp trace` reads them)."""

    def __init__(self, path: Path, service: str):
        self._path = path
        self._service = service
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[Any]) -> Any:
        """Append the spans."""
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = "".join(json.dumps(record_of(s, self._service)) + "\n" for s in spans)
        with self._lock, self._path.open("a", encoding="utf-8") as out:
            out.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release (the file is opened per batch)."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Writes are synchronous."""
        return True
