"""Prometheus RED metrics for HTTP and for event handling, shared by every service."""

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram("http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"])
EVENTS_HANDLED = Counter(
    "events_handled_total", "Consumed events by outcome.", ["consumer", "topic", "event_type", "outcome"]
)
EVENT_DURATION = Histogram(
    "event_handling_duration_seconds",
    "Time to apply one consumed event.",
    ["consumer", "topic", "event_type"],
)
EVENT_RETRIES = Counter(
    "event_retries_total",
    "Transient failures retried while applying an event.",
    ["consumer", "topic", "event_type"],
)
EVENTS_READ_BACK = Counter(
    "events_read_back_total",
    "Events the stream framework skipped and the consumer read back from the log (shared/kafka/positions.py).",
    ["consumer", "topic"],
)
DEAD_LETTERS = Counter("dead_letters_total", "Messages sent to a dead-letter topic.", ["consumer", "topic", "reason"])
EVENTS_PUBLISHED = Counter("events_published_total", "Events published, by topic and type.", ["topic", "event_type"])
READY = Gauge("service_ready", "1 when the service's database and Kafka are reachable.", ["dependency"])


class HttpMetricsMiddleware:
    """Pure ASGI middleware: counts and times every request by its route template, not its raw path."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_DURATION.labels(method, template).observe(time.perf_counter() - started)


async def metrics_endpoint(_: Request) -> Response:
    """The Prometheus exposition of this process's registry."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
