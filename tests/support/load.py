"""Open-loop load: concerns POSTed at a fixed rate, whatever the answers, with every answer recorded.

Open loop (a request every 1/rate seconds, not "wait for the answer, then send the next") is what a real
population of reporters does; a slow or failing intake must not slow the load down and hide the problem.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp


@dataclass
class LoadResult:
    """What the load saw: the accepted concerns (id -> body) and a tally of every other answer."""

    accepted: dict[str, dict] = field(default_factory=dict)
    answers: Counter = field(default_factory=Counter)
    unanswered: list[dict] = field(default_factory=list)
    """Bodies whose request was sent but never answered (timeout, dropped connection): intake may have stored
    them; the reporter would retry with the same Idempotency-Key."""
    unavailable_without_retry_after: int = 0
    sent: int = 0
    elapsed_s: float = 0.0

    @property
    def accepted_rate(self) -> float:
        """Concerns answered 201 per second over the run."""
        return len(self.accepted) / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def offered_rate(self) -> float:
        """Requests sent per second over the run."""
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0


async def open_loop(
    url: str,
    token: str,
    make_body: Callable[[int], dict],
    *,
    rate: float,
    duration_s: float,
    in_flight: int = 256,
    timeout_s: float = 30.0,
) -> LoadResult:
    """POST `make_body(n)` to `url` every 1/rate seconds for `duration_s`; never raises on a failed request."""
    result = LoadResult()
    gate = asyncio.Semaphore(in_flight)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def post(body: dict) -> None:
            try:
                async with session.post(url, json=body, headers=headers) as answer:
                    if answer.status == 201:
                        result.accepted[(await answer.json())["id"]] = body
                    elif answer.status == 503 and "Retry-After" not in answer.headers:
                        result.unavailable_without_retry_after += 1
                    result.answers[answer.status] += 1
            except aiohttp.ClientConnectorError as error:  # never connected: nothing can have been stored
                result.answers[type(error).__name__] += 1
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                result.answers[type(error).__name__] += 1
                result.unanswered.append(body)
            finally:
                gate.release()

        tasks: set[asyncio.Task] = set()
        started = time.monotonic()
        n = 0
        while (now := time.monotonic() - started) < duration_s:
            due = n / rate
            if due > now:
                await asyncio.sleep(due - now)
            await gate.acquire()  # beyond `in_flight` outstanding requests the load waits: report, don't pile up
            task = asyncio.create_task(post(make_body(n)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        result.sent = n
        result.elapsed_s = time.monotonic() - started
        if tasks:
            await asyncio.gather(*tasks)
    return result
