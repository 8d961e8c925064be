"""intake's handlers and edges with fakes: inbound refusals (the body limit and the relay have their own tests)."""

import pytest

from services.intake.adapters.mappings import load_mappings
from services.intake.adapters.sealing import Sealer
from services.intake.domain.directory import Department, Directory
from services.intake.handlers.deps import Deps
from services.intake.handlers.inbound import InboundRefused, handle_inbound
from services.intake.settings import SERVICE_DIR
from shared.contracts.inbound import InboundConcern
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
