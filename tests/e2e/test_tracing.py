"""One trace per concern: the four services as processes with TRACE_DIR, a concern POSTed, every hop's span linked."""

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from shared.auth.principal import Role
from shared.trace_view import read_spans, traces_of
from tests.support.intake_harness import concern_body
from tests.support.platform import ReceiverProcess, environments, smtp_sink
from tests.support.polling import eventually
from tests.support.services import ServiceProcess

SERVICES = ("intake", "routing", "notify")
"""Stats takes no part in the concern's path."""

pytestmark = pytest.mark.e2e


def _children(spans: list[dict], parent: dict | None, service: str, name_part: str) -> list[dict]:
    """The spans of `service` under `parent` whose names contain `name_part`, in start order."""
    if parent is None:
        return []
    return [
        s
        for s in spans
        if s["parent_span_id"] == parent["span_id"] and s["service"] == service and name_part in s["name"]
    ]


def _hops(spans: list[dict]) -> dict[str, dict] | None:
    """Every hop's span, each the child of the one before (None until all are written).

    Routing publishes one referral.created.v1 per target: the webhook goes out for one, the e-mail for another.
    """
    post = next((s for s in spans if s["kind"] == "SERVER" and s["name"].startswith("POST ")), None)
    intake_publish = next(iter(_children(spans, post, "intake", "concern-events publish")), None)
    routing_consume = next(iter(_children(spans, intake_publish, "routing", "concern-events process")), None)
    consumes = [
        (publish, consume)
        for publish in _children(spans, routing_consume, "routing", "referral-events publish")
        for consume in _children(spans, publish, "notify", "referral-events process")
    ]
    webhooks = [(p, c, w) for p, c in consumes for w in _children(spans, c, "notify", "webhook delivery")]
    emails = [e for _, c in consumes for e in _children(spans, c, "notify", "email delivery")]
    if not webhooks or not emails:
        return None
    routing_publish, notify_consume, webhook = webhooks[0]
    posts = _children(spans, webhook, "notify", "POST")
    if not posts:
        return None
    return {
        "post": post,
        "intake_publish": intake_publish,
        "routing_consume": routing_consume,
        "routing_publish": routing_publish,
        "notify_consume": notify_consume,
        "webhook": webhook,
        "webhook_post": posts[0],
        "email": emails[0],
    }


async def test_a_concern_has_one_trace_through_every_hop_without_its_receipt_code(
    fresh_database, service_env, issue_client, tmp_path: Path
) -> None:
    traces = tmp_path / "traces"
    env = {**service_env, "TRACE_DIR": str(traces), "OTEL_BSP_SCHEDULE_DELAY": "200"}
    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    holbaek = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    found: dict = {}
    async with contextlib.AsyncExitStack() as stack:
        databases = {s: await stack.enter_async_context(fresh_database(s)) for s in SERVICES}
        smtp_port = stack.enter_context(smtp_sink())
        envs = environments(env, databases | {"stats": ""}, smtp_port, tmp_path / "state")
        processes = {s: ServiceProcess(s, envs[s]) for s in SERVICES}
        stack.callback(lambda: [p.stop() for p in processes.values()])
        await asyncio.gather(*(asyncio.to_thread(p.start, ready_within=240) for p in processes.values()))
        receiver = ReceiverProcess("0316", tmp_path / "receiver.sqlite3")
        async with httpx.AsyncClient(base_url=processes["notify"].url, timeout=30) as notify:
            as_holbaek = {"Authorization": f"Bearer {holbaek.token}"}

            async def known() -> bool:
                return (await notify.get("/v1/whoami", headers=as_holbaek)).status_code == 200

            await eventually(known, within=120, what="notify knowing the municipality")
            answer = await notify.post(
                "/v1/subscriptions",
                json={"url": receiver.url + "/webhooks", "event_types": ["referral.created.v1"]},
                headers=as_holbaek,
            )
            assert answer.status_code == 201, answer.text
        receiver.secret = answer.json()["secret"]
        await asyncio.to_thread(receiver.start)
        stack.callback(receiver.kill)
        headers = {"Authorization": f"Bearer {reporter.token}"}
        async with httpx.AsyncClient(base_url=processes["intake"].url, timeout=30) as http:
            answer = await http.post(
                "/v1/concerns", json=concern_body(categories=["rent_arrears"], severity="high"), headers=headers
            )
            assert answer.status_code == 201, answer.text
            concern_id, receipt_code = answer.json()["id"], answer.json()["receipt_code"]
            await http.get(f"/v1/concerns/{receipt_code}", headers=headers)  # the code in a path: never in a span

        async def traced() -> bool:
            found.update(traces_of(read_spans(traces), concern_id) if traces.is_dir() else {})
            return any(_hops(spans) for spans in found.values())

        await eventually(traced, within=240, what="every hop of the concern's trace written")

    (spans,) = [spans for spans in found.values() if _hops(spans)]
    hops = _hops(spans)
    assert hops is not None
    assert hops["post"]["parent_span_id"] is None and hops["post"]["service"] == "intake"
    assert hops["post"]["attributes"]["http.route"] == "/v1/concerns"
    kinds = {name: s["kind"] for name, s in hops.items()}
    assert kinds == {
        "post": "SERVER",
        "intake_publish": "PRODUCER",
        "routing_consume": "CONSUMER",
        "routing_publish": "PRODUCER",
        "notify_consume": "CONSUMER",
        "webhook": "PRODUCER",
        "webhook_post": "CLIENT",
        "email": "PRODUCER",
    }
    order = ["post", "intake_publish", "routing_consume", "routing_publish", "notify_consume", "webhook"]
    starts = [hops[name]["start_ns"] for name in order]
    assert starts == sorted(starts)
    assert hops["routing_consume"]["attributes"]["concern.id"] == concern_id
    everything = "".join(path.read_text() for path in traces.glob("*.jsonl"))
    assert receipt_code not in everything and receipt_code.replace("-", "") not in everything
    assert "url.path" not in everything and "url.full" not in everything
