"""intake's handlers and edges with fakes: inbound refusals, relay order per key (the body limit: test_body_limit)."""

import pytest

from services.intake.adapters.mappings import load_mappings
from services.intake.adapters.outbox_relay import OutboxRelay, OutboxRow
from services.intake.adapters.sealing import Sealer
from services.intake.domain.directory import Department, Directory
from services.intake.handlers.deps import Deps
from services.intake.handlers.inbound import InboundRefused, handle_inbound
from services.intake.settings import SERVICE_DIR
from shared.contracts.envelope import encode, make_event
from shared.contracts.examples import example_events
from shared.contracts.inbound import InboundConcern
from shared.kafka.producer import InMemoryPublisher
from tests.support.intake_harness import intake_settings
from tests.unit.test_intake_data_files import BEBOERAPP_B, EJENDOMSSYSTEM_A

pytestmark = pytest.mark.unit


def deps_without_database() -> Deps:
    directory = Directory()
    directory.replace([Department("holbaek-1", "org-demo", "Ladegårdsparken", "0316", 412)])
    settings = intake_settings("postgresql://nowhere/none", "127.0.0.1:1", "unit.")
    mappings = load_mappings(SERVICE_DIR / "mappings")
    return Deps(settings, None, Sealer(settings.master_key_bytes), directory, {}, mappings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("system", "payload", "reason", "names"),
    [
        ("unknown-system", EJENDOMSSYSTEM_A, "unknown_system", "no mapping"),
        ("ejendomssystem-a", EJENDOMSSYSTEM_A | {"alvor": "9"}, "invalid_mapping_result", "severity"),
        ("ejendomssystem-a", {k: v for k, v in EJENDOMSSYSTEM_A.items() if k != "beskrivelse"},
         "invalid_mapping_result", "description"),
        ("beboerapp-b", {"report": "not an object"}, "invalid_mapping_result", "department_id"),
        ("beboerapp-b", {"report": BEBOERAPP_B["report"] | {"unit": 12}}, "invalid_mapping_result", "payload"),
        ("ejendomssystem-a", EJENDOMSSYSTEM_A, "unknown_department", "department_id"),  # hoeng-1 not in directory
    ],
)  # fmt: skip
async def test_inbound_messages_that_cannot_be_concerns_are_refused_with_a_reason(system, payload, reason, names):  # noqa: ANN001, ANN201
    message = InboundConcern(system=system, external_id="x-1", payload=payload)
    with pytest.raises(InboundRefused) as refused:
        await handle_inbound(deps_without_database(), message)
    assert refused.value.reason == reason
    assert names in str(refused.value)
    assert "Fiktiv" not in str(refused.value)


async def test_the_relay_publishes_each_keys_rows_in_outbox_order() -> None:
    template = example_events()[0]
    rows = []
    for i in range(30):
        key = f"sk_key{i % 3:04d}"
        event = make_event(template.data, source="/services/intake", subject=key, id=f"event-{i:03d}")
        rows.append(OutboxRow(i + 1, "concern-events", key, event.type, encode(event)))
    publisher = InMemoryPublisher()
    relay = OutboxRelay(None, publisher, dsn="", physical_topic=lambda t: "p." + t)  # type: ignore[arg-type]
    await relay._publish(rows)  # noqa: SLF001
    assert len(publisher.published) == 30
    assert {topic for topic, _, _ in publisher.published} == {"p.concern-events"}
    for k in range(3):
        ids = [e.id for _, key, e in publisher.published if key == f"sk_key{k:04d}"]
        assert ids == sorted(ids) and len(ids) == 10
