"""The end-to-end bench's load side: an open-loop POST driver, the webhook receiver, and the per-rate summary."""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import aiohttp
from aiohttp import web

from bench.harness import percentile


@dataclass(frozen=True)
class Sent:
    """One concern answered 201: its id, when the POST left, when the 201 came back (epoch seconds)."""

    concern_id: str
    sent_at: float
    answered_at: float


@dataclass(frozen=True)
class Outcome:
    """One rate's result: how many were sent, answered and delivered, how fast, and how late."""

    answered: int
    delivered: int
    throughput: float  # webhooks/s: (delivered - 1) / (last webhook - first webhook)
    first_post_to_last_webhook: float  # delivered / (last webhook - first POST): penalised by the latency too
    p50_ms: float
    p99_ms: float
    answer_p50_ms: float
    answer_p99_ms: float
    send_span_s: float  # first POST to last POST: shows whether the driver kept to its schedule
    routed_p50_ms: float  # POST sent -> the referral event's time (routing), when the webhook carries it
    notified_p50_ms: float  # the referral event's time -> its webhook received (notify)


def summarise(sent: list[Sent], arrivals: dict[str, float], routed: dict[str, float] | None = None) -> Outcome:
    """Throughput and POST-to-webhook latency of the concerns in `sent`, from the receiver's first arrivals."""
    delivered = [(s, arrivals[s.concern_id]) for s in sent if s.concern_id in arrivals]
    latencies = [(arrived - s.sent_at) * 1000 for s, arrived in delivered]
    answers = [(s.answered_at - s.sent_at) * 1000 for s in sent]
    routed = routed or {}
    to_routed = [(routed[s.concern_id] - s.sent_at) * 1000 for s in sent if s.concern_id in routed]
    to_webhook = [(arrived - routed[s.concern_id]) * 1000 for s, arrived in delivered if s.concern_id in routed]
    first = min((s.sent_at for s in sent), default=0.0)
    first_arrival = min((arrived for _, arrived in delivered), default=first)
    last = max((arrived for _, arrived in delivered), default=first)
    return Outcome(
        answered=len(sent),
        delivered=len(delivered),
        throughput=(len(delivered) - 1) / (last - first_arrival) if last > first_arrival else 0.0,
        first_post_to_last_webhook=len(delivered) / (last - first) if last > first else 0.0,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        answer_p50_ms=percentile(answers, 50),
        answer_p99_ms=percentile(answers, 99),
        send_span_s=max((s.sent_at for s in sent), default=first) - first,
        routed_p50_ms=percentile(to_routed, 50),
        notified_p50_ms=percentile(to_webhook, 50),
    )


def pooled(runs: list[list[Sent]], arrivals: dict[str, float]) -> Outcome:
    """Several runs of one rate as one: percentiles over all their concerns, rates as the mean of the runs'."""
    whole = summarise([s for run in runs for s in run], arrivals)
    each = [summarise(run, arrivals) for run in runs]
    return replace(
        whole,
        throughput=sum(o.throughput for o in each) / len(each),
        first_post_to_last_webhook=sum(o.first_post_to_last_webhook for o in each) / len(each),
        send_span_s=max(o.send_span_s for o in each),
    )


async def drive(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], rate: float, seconds: float, body: Callable
) -> tuple[list[Sent], Counter]:
    """POST `rate` concerns/s for `seconds` on a fixed schedule (open loop: a slow answer delays no other POST)."""
    loop = asyncio.get_running_loop()
    sent: list[Sent] = []
    refused: Counter = Counter()

    async def post(i: int) -> None:
        started = time.time()
        try:
            async with http.post(url, json=body(i), headers=headers) as answer:
                if answer.status != 201:
                    refused[str(answer.status)] += 1
                    return
                concern_id = (await answer.json())["id"]
        except (aiohttp.ClientError, TimeoutError) as error:  # counted as refused: the run goes on
            refused[type(error).__name__] += 1
            return
        sent.append(Sent(concern_id, started, time.time()))

    tasks = []
    start = loop.time()
    for i in range(round(rate * seconds)):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(i)))
    await asyncio.gather(*tasks)
    return sent, refused


class Receiver:
    """A webhook receiver that notes the first arrival of each concern's municipality referral, and duplicates."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.routed: dict[str, float] = {}  # the referral event's time, for the platform's webhooks
        self.deliveries: Counter = Counter()  # by webhook-id: more than 1 = delivered again
        self._runner: web.AppRunner | None = None

    async def _webhook(self, request: web.Request) -> web.Response:
        arrived = time.time()
        body = json.loads(await request.read())
        data = body["data"]
        if data.get("target") == "municipality":
            self.arrivals.setdefault(data["concern_id"], arrived)
            if "timestamp" in body:
                self.routed.setdefault(data["concern_id"], datetime.fromisoformat(body["timestamp"]).timestamp())
        self.deliveries[request.headers.get("webhook-id", "")] += 1
        return web.Response(status=204)

    async def start(self, port: int) -> str:
        """Listen on 127.0.0.1:port; the URL to subscribe."""
        app = web.Application()
        app.router.add_post("/webhooks", self._webhook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}/webhooks"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner:
            await self._runner.cleanup()

    @property
    def duplicates(self) -> int:
        """Deliveries beyond the first of each webhook id."""
        return sum(self.deliveries.values()) - len(self.deliveries)

    async def wait_for(self, concern_ids: list[str], within: float) -> bool:
        """Whether every concern's webhook arrived within `within` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(c in self.arrivals for c in concern_ids):
                return True
            await asyncio.sleep(0.05)
        return False
