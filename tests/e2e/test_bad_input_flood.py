"""Bad input on Kafka: 10,000 malformed messages on every consumed topic, all dead-lettered, good ones flowing.

The four services run as processes on isolated topics. While good concerns come in through concern-inbound
(and become concern, referral and notification events through the real services), a flood of malformed
messages (not JSON, the wrong JSON, unknown types, invalid data, wrong specversion, oversized, deeply nested,
empty, tombstones, null keys, binary garbage) is produced onto concern-inbound, concern-events,
referral-events and notification-events. Every consumer group of a topic must dead-letter exactly the
malformed messages (by the dlq-* headers naming origin topic, partition, offset and consumer), and every good
concern must still get its concern event, referrals, webhook and statistics; the one sent mid-flood is
handled before the flood behind it has been drained.
"""

import asyncio
import json
import os
import random
import sqlite3
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.auth.principal import Role
from shared.contracts.envelope import decode, encode
from shared.contracts.examples import example_events
from shared.contracts.inbound import InboundConcern, encode_inbound
from shared.contracts.topics import CONCERN_EVENTS, CONCERN_INBOUND, NOTIFICATION_EVENTS, REFERRAL_EVENTS, dlq
from shared.kafka.config import client_config, partitions_of, producer_config
from tests.support.notify_helpers import LateSecretReceiver, serving
from tests.support.polling import eventually
from tests.support.services import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

FLOOD = 10_000
"""Malformed messages per consumed topic (the issue's number)."""
ROUNDS = 20
"""The flood goes out in rounds, a good concern after each: good and bad are interleaved on every topic."""
CONSUMERS = {
    CONCERN_INBOUND: {"intake-service"},
    CONCERN_EVENTS: {"routing-service", "notify-service", "stats-service"},
    REFERRAL_EVENTS: {"intake-service", "notify-service", "stats-service"},
    NOTIFICATION_EVENTS: {"stats-service"},
}
"""Who reads each topic (services/*/entrypoints), by the dlq-consumer header: the service that refused it
(intake's referral projection has a consumer group of its own, but its dead letters name the service)."""
REASONS = {"invalid_json", "unknown_type", "invalid_envelope", "invalid_data", "unknown_system",
           "invalid_mapping_result", "unappliable_data"}  # fmt: skip
"""The dead-letter reasons the flood must produce, and no others."""
SYSTEM = "ejendomssystem-a"
GOOD_PAYLOAD = {
    "afdelingsnr": "HO-201",  # hoeng-1, Kalundborg (0326): the subscribed municipality
    "sagstyper": ["PSYK"],
    "alvor": "2",
    "beskrivelse": "Beboeren virker forvirret og har svært ved at klare sig. (Fiktivt.)",
    "observeret_tid": "2026-01-05T10:00:00+01:00",
    "samtykke": "J",
    "indberetter": {"funktion": "VICEVAERT", "navn": "Fiktiv Vicevært", "telefon": "11 22 33 44"},
    "beboer": {"navn": "Fiktiv Beboer", "adresse": "Vængevej 3, 4270 Høng"},
}


# ---- malformed messages ----------------------------------------------------------------------------


def _examples_by_topic() -> dict[str, list[dict]]:
    """A valid example event per type, as JSON objects, grouped by the topic that carries it."""
    topic_of = {"concern": CONCERN_EVENTS, "referral": REFERRAL_EVENTS, "notification": NOTIFICATION_EVENTS}
    grouped: dict[str, list[dict]] = defaultdict(list)
    for event in example_events("flood"):
        grouped[topic_of[event.type.split(".")[0]]].append(json.loads(encode(event)))
    grouped[CONCERN_INBOUND] = [json.loads(encode_inbound(InboundConcern(system=SYSTEM, external_id="x", payload={})))]
    return grouped


EXAMPLES = _examples_by_topic()


def _event(topic: str, i: int, **changes: object) -> bytes:
    value = {**EXAMPLES[topic][i % len(EXAMPLES[topic])], "id": str(uuid.uuid4()), **changes}
    return json.dumps(value).encode()


def _without(topic: str, i: int, attribute: str) -> bytes:
    value = {**EXAMPLES[topic][i % len(EXAMPLES[topic])]}
    value.pop(attribute, None)
    return json.dumps(value).encode()


KINDS: list[tuple[str, Callable[[str, int], bytes | None]]] = [
    ("not_json", lambda t, i: b"{not json at all " + str(i).encode()),
    ("json_array", lambda t, i: b"[1, 2, 3]"),
    ("json_scalar", lambda t, i: b'"just a string"' if i % 2 else b"null"),
    ("not_an_envelope", lambda t, i: json.dumps({"hello": "world", "n": i}).encode()),
    ("unknown_type", lambda t, i: _event(t, i, type="concern.exploded.v1")),
    ("invalid_data", lambda t, i: _event(t, i, data={"unexpected": True})),
    ("wrong_specversion", lambda t, i: _event(t, i, specversion="0.3")),
    ("missing_attribute", lambda t, i: _without(t, i, "system" if t == CONCERN_INBOUND else "id")),
    ("empty_value", lambda t, i: b""),
    ("tombstone", lambda t, i: None),
    ("binary_garbage", lambda t, i: random.Random(i).randbytes(64 + i % 400)),
    ("invalid_utf8", lambda t, i: b'{"specversion": "1.0", "id": "\xff\xfe\xfd"}'),
    ("huge_number", lambda t, i: b'{"specversion": ' + b"7" * 5000 + b"}"),
]
"""Each kind of bad message by name; the flood cycles through them."""
RARE: list[tuple[str, int, Callable[[str, int], bytes]]] = [
    ("oversized", 997, lambda t, i: _event(t, i, data={"description": "x" * 300_000})),
    ("deeply_nested", 499, lambda t, i: b"[" * 40_000 + b"]" * 40_000),
]
"""Big ones, now and then (every n-th message): the broker and the consumers must take them too."""
INBOUND_ONLY: list[tuple[str, Callable[[str, int], bytes]]] = [
    ("cloudevent_on_inbound", lambda t, i: _event(CONCERN_EVENTS, i)),
    ("unknown_system", lambda t, i: _inbound("no-such-system", f"flood-{i}", GOOD_PAYLOAD)),
    ("unmappable_payload", lambda t, i: _inbound(SYSTEM, f"flood-{i}", {**GOOD_PAYLOAD, "sagstyper": ["???"]})),
    ("payload_not_a_concern", lambda t, i: _inbound(SYSTEM, f"flood-{i}", {"afdelingsnr": "HO-201"})),
]
"""Bad only on concern-inbound (a valid CloudEvent), or well-formed but never a concern: refused by intake."""


def _out_of_range(topic: str, i: int) -> bytes:
    delivered = next(e for e in EXAMPLES[topic] if "latency_ms" in e["data"])
    return json.dumps(
        {**delivered, "id": str(uuid.uuid4()), "data": {**delivered["data"], "latency_ms": 3 * 10**9}}
    ).encode()


NOTIFICATION_ONLY: list[tuple[str, Callable[[str, int], bytes]]] = [("out_of_range", _out_of_range)]
"""Valid by the contract, but stats' database refuses the number: dead-lettered, not retried forever."""


def _inbound(system: str, external_id: str, payload: dict) -> bytes:
    return encode_inbound(InboundConcern(system=system, external_id=external_id, payload=payload))


def malformed(topic: str, i: int) -> tuple[str, bytes | None, bytes | None]:
    """The i-th malformed message for `topic`: (kind, key, value); every third has no key (tombstones keep one)."""
    kinds = [(kind, make) for kind, every, make in RARE if i % every == every - 1]
    if not kinds:
        kinds = KINDS + {CONCERN_INBOUND: INBOUND_ONLY, NOTIFICATION_EVENTS: NOTIFICATION_ONLY}.get(topic, [])
        kinds = [kinds[i % len(kinds)]]
    kind, make = kinds[0]
    value = make(topic, i)
    return kind, None if i % 3 == 0 and value is not None else f"flood-{i}".encode(), value


# ---- the flood and what came of it -----------------------------------------------------------------


@dataclass
class Flood:
    """Where each malformed message landed, and the good concerns sent between the rounds."""

    positions: dict[str, set[tuple[int, int]]] = field(default_factory=lambda: defaultdict(set))
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    good: list[str] = field(default_factory=list)
    """External ids of the good concerns, in the order they were sent."""


async def produce_flood(bootstrap: str, prefix: str) -> Flood:
    """Send FLOOD malformed messages to each consumed topic in ROUNDS rounds, a good concern after each round."""
    flood = Flood()
    config = {**producer_config(bootstrap, "test-flood"), "max_request_size": 2_000_000, "linger_ms": 20}
    producer = AIOKafkaProducer(**config)
    await producer.start()
    try:
        per_round = FLOOD // ROUNDS
        for round_ in range(ROUNDS):
            sends = []
            for topic in CONSUMERS:
                for i in range(round_ * per_round, (round_ + 1) * per_round):
                    kind, key, value = malformed(topic, i)
                    flood.kinds[kind] += 1
                    sends.append((topic, await producer.send(prefix + topic, value, key=key)))
            for topic, sent in sends:
                metadata = await sent
                flood.positions[topic].add((metadata.partition, metadata.offset))
            external_id = f"good-{round_:02d}-{uuid.uuid4().hex[:6]}"
            payload = {**GOOD_PAYLOAD, "lejemaalsnr": f"201-{round_:04d}"}
            good = _inbound(SYSTEM, external_id, payload)
            await producer.send_and_wait(prefix + CONCERN_INBOUND, good, key=f"{SYSTEM}:{external_id}".encode())
            flood.good.append(external_id)
            await asyncio.sleep(0.2)  # the services work meanwhile: good events downstream interleave too
    finally:
        await producer.stop()
    return flood


@dataclass
class DeadLetterTally:
    """Dead letters read so far: positions of the origin message per (origin topic, consumer), and when."""

    positions: dict[tuple[str, str], set[tuple[int, int]]] = field(default_factory=lambda: defaultdict(set))
    last_at: dict[tuple[str, str], int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


async def follow_dead_letters(bootstrap: str, prefix: str, tally: DeadLetterTally, done: asyncio.Event) -> None:
    """Read every .dlq topic from the start into `tally` until `done` is set."""
    consumer = AIOKafkaConsumer(
        **client_config(bootstrap), enable_auto_commit=False, max_partition_fetch_bytes=4_000_000
    )
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, *(prefix + dlq(topic) for topic in CONSUMERS))
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while not done.is_set():
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    origin = headers["dlq-origin-topic"].removeprefix(prefix)
                    where = (origin, headers["dlq-consumer"])
                    tally.positions[where].add(
                        (int(headers["dlq-origin-partition"]), int(headers["dlq-origin-offset"]))
                    )
                    tally.last_at[where] = max(tally.last_at.get(where, 0), record.timestamp)
                    tally.reasons[headers["dlq-reason"]] += 1
    finally:
        await consumer.stop()


async def read_events(bootstrap: str, topic: str) -> list[tuple[int, object]]:
    """The decodable events of `topic` so far, with their broker timestamps (the flood is skipped)."""
    consumer = AIOKafkaConsumer(
        **client_config(bootstrap), enable_auto_commit=False, max_partition_fetch_bytes=4_000_000
    )
    await consumer.start()
    events = []
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        while [p for p in partitions if await consumer.position(p) < end[p]]:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    try:
                        events.append((record.timestamp, decode(record.value or b"")))
                    except ValueError:
                        continue
    finally:
        await consumer.stop()
    return events


# ---- the test --------------------------------------------------------------------------------------


async def test_ten_thousand_malformed_messages_per_topic_are_dead_lettered_while_good_ones_flow(
    fresh_database, service_env, issue_client, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    municipality = await issue_client(Role.MUNICIPALITY, municipality_code="0326")
    admin = await issue_client(Role.ADMIN)
    receiver = LateSecretReceiver(tmp_path)
    started = time.monotonic()
    async with (
        fresh_database("intake") as intake_db,
        fresh_database("routing") as routing_db,
        fresh_database("notify") as notify_db,
        fresh_database("stats") as stats_db,
    ):
        with serving(receiver) as receiver_url:
            env = {**service_env, "LOG_LEVEL": "WARNING", "RETRY_BASE_S": "0.5", "DELIVERY_POLL_S": "0.2"}
            processes = {
                "intake": ServiceProcess("intake", {**env, "DATABASE_URL": intake_db}),
                "routing": ServiceProcess("routing", {**env, "DATABASE_URL": routing_db}),
                "notify": ServiceProcess("notify", {**env, "DATABASE_URL": notify_db}),
                "stats": ServiceProcess("stats", {**env, "DATABASE_URL": stats_db}),
            }
            try:
                await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes.values()))
                await subscribe(processes["notify"].url, municipality.token, receiver, receiver_url)
                tally, done = DeadLetterTally(), asyncio.Event()
                follower = asyncio.create_task(follow_dead_letters(kafka_bootstrap, topic_prefix, tally, done))
                flood = await produce_flood(kafka_bootstrap, topic_prefix)
                produced_in = time.monotonic() - started

                async def all_dead_lettered() -> bool:
                    if follower.done():
                        follower.result()
                    if int(time.monotonic() - started) % 15 == 0:
                        print(f"{time.monotonic() - started:.0f} s", {k: len(v) for k, v in tally.positions.items()})
                    return all(
                        len(tally.positions[(topic, consumer)]) >= FLOOD
                        for topic, consumers in CONSUMERS.items()
                        for consumer in consumers
                    )

                await eventually(all_dead_lettered, within=720, what="every malformed message dead-lettered")
                drained_in = time.monotonic() - started
                cpu = {name: cpu_seconds(p) for name, p in processes.items()}
                await asyncio.sleep(2)  # anything dead-lettered beyond the flood would show up now
                done.set()
                await follower
                await check_good_flow(processes, flood, admin.token, receiver, kafka_bootstrap, topic_prefix, tally)
            finally:
                for process in processes.values():
                    process.stop()

    # Exactly the malformed messages, by every consumer of their topic, and nobody else's.
    for topic, consumers in CONSUMERS.items():
        assert len(flood.positions[topic]) == FLOOD
        for consumer in consumers:
            assert tally.positions[(topic, consumer)] == flood.positions[topic], (topic, consumer)
    assert set(tally.positions) == {(t, c) for t, cs in CONSUMERS.items() for c in cs}
    assert set(tally.reasons) == REASONS, dict(tally.reasons)
    assert tally.reasons["unappliable_data"] == flood.kinds["out_of_range"]  # by stats, the one reader of its topic
    print(
        f"flood: {dict(flood.kinds)}; dead letters by reason: {dict(tally.reasons)};"
        f" produced after {produced_in:.0f} s, all dead-lettered after {drained_in:.0f} s;"
        f" CPU seconds by service: {cpu}"
    )


def cpu_seconds(process: ServiceProcess) -> float:
    """CPU time the service's process used so far (user + system), from /proc: where the flood's cost went."""
    pid = process._process.pid  # noqa: SLF001 - test support's own handle
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


async def subscribe(notify_url: str, token: str, receiver: LateSecretReceiver, receiver_url: str) -> None:
    """The municipality subscribes the receiver to its referrals."""
    async with httpx.AsyncClient(base_url=notify_url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {token}"}

        async def known() -> bool:
            return (await http.get("/v1/whoami", headers=headers)).status_code == 200

        await eventually(known, what="notify knowing the municipality's token")
        answer = await http.post(
            "/v1/subscriptions",
            json={"url": receiver_url + "/webhooks", "event_types": ["referral.created.v1"]},
            headers=headers,
        )
        assert answer.status_code == 201, answer.text
        receiver.set_secret(answer.json()["secret"])


async def check_good_flow(
    processes: dict[str, ServiceProcess],
    flood: Flood,
    admin_token: str,
    receiver: LateSecretReceiver,
    bootstrap: str,
    prefix: str,
    tally: DeadLetterTally,
) -> None:
    """Every good concern is stored, reported, routed, delivered and counted; the mid-flood one without waiting."""
    intake = await asyncpg.connect(processes["intake"].env["DATABASE_URL"])
    try:
        rows = await intake.fetch("SELECT external_id, id::text AS id FROM concerns WHERE external_system = $1", SYSTEM)
    finally:
        await intake.close()
    concern_of = {r["external_id"]: r["id"] for r in rows}
    assert set(concern_of) == set(flood.good), "only and all good inbound concerns are stored"

    reported = {e.data.concern_id: at for at, e in await read_events(bootstrap, prefix + CONCERN_EVENTS)}
    assert set(reported) == set(concern_of.values())

    referrals: dict[str, list] = defaultdict(list)

    async def routed() -> bool:
        referrals.clear()
        for at, event in await read_events(bootstrap, prefix + REFERRAL_EVENTS):
            if event.type == "referral.created.v1":
                referrals[event.data.concern_id].append((at, event))
        return set(referrals) == set(concern_of.values())

    await eventually(routed, within=60, what="a referral for every good concern")
    to_municipality = {
        e.data.referral_id: c for c, created in referrals.items() for _, e in created if e.data.target == "municipality"
    }
    assert set(to_municipality.values()) == set(concern_of.values()), "each good concern goes to Kalundborg"
    created_ids = {e.id for created in referrals.values() for _, e in created if e.data.target == "municipality"}

    async def delivered() -> bool:
        return set(_webhooks_processed(receiver)) == created_ids

    await eventually(delivered, within=60, what="a webhook for every referral to the municipality")
    notified: set[str] = set()

    async def reported_back() -> bool:
        events = await read_events(bootstrap, prefix + NOTIFICATION_EVENTS)
        notified.update(e.data.referral_id for _, e in events if e.type == "notification.delivered.v1")
        return set(to_municipality) <= notified

    await eventually(reported_back, within=60, what="notification.delivered.v1 for every webhook")

    all_referrals = sum(len(created) for created in referrals.values())
    overview: dict = {}

    async def counted() -> bool:
        async with httpx.AsyncClient(base_url=processes["stats"].url, timeout=10) as http:
            answer = await http.get("/v1/stats/overview", headers={"Authorization": f"Bearer {admin_token}"})
        assert answer.status_code == 200, answer.text
        overview.update(answer.json())
        webhooks = {row["channel"]: row for row in overview["notifications"] or []}.get("webhook", {})
        return (
            overview["concerns"]["total"] == len(flood.good)
            and overview["referrals"]["total"] == all_referrals
            and webhooks.get("delivered", 0) >= len(to_municipality)
        )

    await eventually(counted, within=60, what="the statistics counting every good concern, referral and webhook")

    # The good concern sent mid-flood was taken while intake still had the rest of the flood to dead-letter.
    middle = concern_of[flood.good[ROUNDS // 2]]
    assert reported[middle] < tally.last_at[(CONCERN_INBOUND, "intake-service")]


def _webhooks_processed(receiver: LateSecretReceiver) -> list[str]:
    """Ids of the referral events the receiver applied (once each)."""
    if not receiver.database.exists():
        return []
    with sqlite3.connect(receiver.database) as conn:
        return [row[0] for row in conn.execute("SELECT event_id FROM referral_events")]
