"""Measurements for the portal's closing note: bytes transferred per page and the first paint of a page.

Page weight is what Chromium took off the network for one cold load (a fresh browser context, so an empty cache),
summed from the DevTools protocol's `Network.loadingFinished` events (`encodedDataLength`: headers plus the body as
sent, compressed or not). First paint comes from the page itself (`performance.getEntriesByType('paint')`). Both
go to test-artifacts/portal/perf.json, merged by section, reported rather than asserted.
"""

import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[3]
PERF_FILE = ROOT / "test-artifacts" / "portal" / "perf.json"


class Traffic:
    """The network bytes of one page, as Chromium's DevTools protocol reports them."""

    def __init__(self) -> None:
        self.requests: dict[str, dict] = {}
        self.failed = 0

    @classmethod
    async def attach(cls, page) -> "Traffic":  # noqa: ANN001 - a Playwright Page
        """Start counting the page's traffic (before it navigates)."""
        traffic = cls()
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.responseReceived", traffic._response)
        cdp.on("Network.loadingFinished", traffic._finished)
        cdp.on("Network.loadingFailed", traffic._failed)
        await cdp.send("Network.enable")
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        return traffic

    def _response(self, event: dict) -> None:
        response = event["response"]
        self.requests.setdefault(event["requestId"], {}).update(
            url=response["url"], type=event.get("type", "Other"), status=response["status"]
        )

    def _finished(self, event: dict) -> None:
        self.requests.setdefault(event["requestId"], {"type": "Other"})["bytes"] = event["encodedDataLength"]

    def _failed(self, event: dict) -> None:
        self.failed += 1

    def reset(self) -> None:
        self.requests.clear()
        self.failed = 0

    @property
    def total(self) -> int:
        return sum(r.get("bytes", 0) for r in self.requests.values())

    def summary(self) -> dict:
        """KB transferred in all and by resource type, and the number of requests."""
        by_type: dict[str, int] = {}
        for request in self.requests.values():
            kind = request.get("type", "Other")
            by_type[kind] = by_type.get(kind, 0) + request.get("bytes", 0)
        return {
            "kb": round(self.total / 1024, 1),
            "requests": len(self.requests),
            "by_type_kb": {kind: round(size / 1024, 1) for kind, size in sorted(by_type.items())},
        }


async def settled(page, quiet_s: float = 0.3, within_s: float = 10.0) -> None:  # noqa: ANN001
    """Wait for the page's load event and then for its network to stay quiet a moment."""
    await page.wait_for_load_state("load")
    # A page that keeps polling is measured as it stands.
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_load_state("networkidle", timeout=within_s * 1000)
    await asyncio.sleep(quiet_s)


_PAINT = """() => {
  const paints = Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
  const nav = performance.getEntriesByType('navigation')[0];
  return {paints, response_end: nav ? nav.responseEnd : null,
          dom_content_loaded: nav ? nav.domContentLoadedEventEnd : null,
          load: nav ? nav.loadEventEnd : null, transfer_size: nav ? nav.transferSize : null};
}"""


async def paint_timing(page, within_s: float = 10.0) -> dict:  # noqa: ANN001 - a Playwright Page
    """The page's first paint and first contentful paint (ms since navigation start), once the browser has them."""
    deadline = time.monotonic() + within_s
    while True:
        timing = await page.evaluate(_PAINT)
        if "first-contentful-paint" in timing["paints"] and timing["load"]:
            return timing
        if time.monotonic() > deadline:
            return timing
        await asyncio.sleep(0.05)


def median_of(samples: list[dict], key: str) -> float | None:
    values = [sample[key] for sample in samples if sample.get(key) is not None]
    return round(statistics.median(values), 1) if values else None


def record(section: str, value: object, path: Path = PERF_FILE) -> None:
    """Put `value` under `section` in perf.json, keeping the other sections."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    data[section] = value
    data.setdefault("_about", {}).update(
        {
            "page_weight": "KB transferred by Chromium for one cold load (empty cache), CDP Network.loadingFinished",
            "first_paint": "ms from navigation start, performance.getEntriesByType('paint'), median of the runs",
        }
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(path)
