"""The end-to-end baseline: a bare pipeline of the platform's shape with none of its logic, and an idle process.

`python -m bench.e2e_bare intake PORT DSN BOOTSTRAP TOPIC`: a bare FastAPI endpoint that INSERTs the body as one
row and produces a small record to Kafka (send_and_wait) before answering 201 (intake's shape, without
validation, auth, pseudonymisation, encryption or the outbox).
`python -m bench.e2e_bare consumers DSN BOOTSTRAP CONCERNS REFERRALS RECEIVER`: three raw aiokafka consumers:
a consume-and-produce hop (routing's shape), a consumer POSTing each record to the receiver (notify's), and
one adding each batch to a counter row in PostgreSQL (stats'), each committing after its batch.
`python -m bench.e2e_bare idle PORT [faust]`: a minimal FastAPI app under uvicorn with the services' framework
imports, doing nothing: the floor a service's memory is compared with.
"""

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

SCHEMA = """
CREATE TABLE IF NOT EXISTS bare_concerns (id uuid PRIMARY KEY, body jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS bare_count (id int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO bare_count VALUES (1, 0) ON CONFLICT DO NOTHING;
"""


def intake_app(dsn: str, bootstrap: str, topic: str) -> FastAPI:
    """The bare intake: one INSERT, one produce, 201."""
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
        state["producer"] = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await state["producer"].start()
        yield
        await state["producer"].stop()
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    async def ready() -> dict:
        return {"ok": True}

    @app.post("/v1/concerns", status_code=201)
    async def insert(body: dict) -> dict:
        concern_id = str(uuid.uuid4())
        await state["pool"].execute(
            "INSERT INTO bare_concerns (id, body) VALUES ($1, $2)", concern_id, json.dumps(body)
        )
        record = json.dumps({"concern_id": concern_id, "department_id": body.get("department_id")}).encode()
        await state["producer"].send_and_wait(topic, record, key=concern_id.encode())
        return {"id": concern_id}

    return app


async def _consume(bootstrap: str, topic: str, group: str, handle) -> None:  # noqa: ANN001
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            records = [r for batch in batches.values() for r in batch]
            if records:
                await handle(records)
                await consumer.commit()
    finally:
        await consumer.stop()


async def consumers(dsn: str, bootstrap: str, concerns: str, referrals: str, receiver: str) -> None:
    """Run the hop, the forwarder and the counter until killed."""
    import aiohttp  # here, so the idle process's memory floor does not carry it

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32))

    async def hop(records: list) -> None:
        sends = []
        for r in records:
            body = json.loads(r.value)
            referral = {"event_id": str(uuid.uuid4()), "concern_id": body["concern_id"], "target": "municipality"}
            sends.append(await producer.send(referrals, json.dumps(referral).encode(), key=r.key))
        await asyncio.gather(*sends)

    async def forward(records: list) -> None:
        async def post(r) -> None:  # noqa: ANN001
            data = json.loads(r.value)
            headers = {"webhook-id": data["event_id"], "content-type": "application/json"}
            payload = json.dumps({"type": "referral.created.v1", "data": data})
            async with http.post(receiver, data=payload, headers=headers) as answer:
                answer.raise_for_status()

        await asyncio.gather(*(post(r) for r in records))

    async def count(records: list) -> None:
        await pool.execute("UPDATE bare_count SET n = n + $1 WHERE id = 1", len(records))

    await asyncio.gather(
        _consume(bootstrap, concerns, "bare-hop", hop),
        _consume(bootstrap, referrals, "bare-forward", forward),
        _consume(bootstrap, concerns, "bare-count", count),
    )


def idle_app() -> FastAPI:
    """A FastAPI app with one route, for the memory floor."""
    app = FastAPI()

    @app.get("/ready")
    async def ready() -> dict:
        return {"ok": True}

    return app


def main(argv: list[str]) -> None:
    """Dispatch on the first argument (see the module docstring)."""
    kind, *args = argv
    if kind == "intake":
        port, dsn, bootstrap, topic = args
        uvicorn.run(
            intake_app(dsn, bootstrap, topic), host="127.0.0.1", port=int(port), log_config=None, access_log=False
        )
    elif kind == "consumers":
        asyncio.run(consumers(*args))
    elif kind == "idle":
        import httpx  # noqa: F401 - the imports are the point: their weight in memory
        import pydantic_settings  # noqa: F401

        if args[1:] == ["faust"]:
            # Faust imports lazily: an app with a topic and the aiokafka driver is what a worker carries at least.
            import faust
            import faust.transport.drivers.aiokafka  # noqa: F401

            faust.App("idle", broker="kafka://127.0.0.1:9", autodiscover=False).topic("idle")

        uvicorn.run(idle_app(), host="127.0.0.1", port=int(args[0]), log_config=None, access_log=False)
    else:
        raise SystemExit(f"unknown: {kind}")


if __name__ == "__main__":
    main(sys.argv[1:])
