"""An inbound message that does not map names every field at fault (unknown codes and invalid values alike)."""

import pytest

from services.intake.adapters.mappings import MappingError, load_mappings, map_inbound
from services.intake.handlers.inbound import InboundRefused, handle_inbound
from services.intake.settings import SERVICE_DIR
from shared.contracts.inbound import InboundConcern
from tests.unit.test_intake_handlers_unit import deps_without_database

pytestmark = pytest.mark.unit
MAPPINGS = load_mappings(SERVICE_DIR / "mappings")
CODE = "code not in the system's code list"
# Four faults at once: two unknown codes, a value of the wrong form, and a required field left out.
BROKEN = {
    "afdelingsnr": "HB-101",
    "sagstyper": ["DEMENS", "HEMMELIG-KODE"],
    "alvor": "9",
    "observeret_tid": "i går aftes",
    "samtykke": "N",
    "indberetter": {"funktion": "VICEVAERT", "navn": "Fiktiv Vicevært"},
}


def test_every_bad_field_is_named_not_only_the_first() -> None:
    with pytest.raises(MappingError) as refused:
        map_inbound(MAPPINGS["ejendomssystem-a"], BROKEN, "A-90")
    assert dict(refused.value.problems) == {
        "categories": CODE,
        "severity": CODE,
        "description": "missing",
        "observed_at": "datetime_from_date_parsing",
    }
    assert "HEMMELIG" not in str(refused.value) and "aftes" not in str(refused.value)


def test_a_field_left_out_for_its_unknown_code_is_not_also_called_missing() -> None:
    payload = {k: v for k, v in BROKEN.items() if k != "sagstyper"} | {"sagstyper": ["HEMMELIG-KODE"]}
    with pytest.raises(MappingError) as refused:
        map_inbound(MAPPINGS["ejendomssystem-a"], payload, "A-91")
    assert [p for p in refused.value.problems if p[0] == "categories"] == [("categories", CODE)]


async def test_the_dead_letter_reason_names_every_bad_field() -> None:
    message = InboundConcern(system="ejendomssystem-a", external_id="A-92", payload=BROKEN)
    with pytest.raises(InboundRefused) as refused:
        await handle_inbound(deps_without_database(), message)
    assert refused.value.reason == "invalid_mapping_result"
    text = str(refused.value)
    for field in ("categories", "severity", "description", "observed_at"):
        assert f"{field}: " in text, text
    assert "Fiktiv" not in text and "HEMMELIG" not in text


def test_a_contract_refusal_names_every_field_not_five_and_a_count() -> None:
    from pydantic import BaseModel

    from shared.contracts.errors import ContractError, validate

    class Data(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int
        f: str
        g: str

    with pytest.raises(ContractError) as refused:
        validate(Data, {"f": 1, "g": "ok", "h": "Fiktiv"}, reason="invalid_data", what="data")
    text = str(refused.value)
    assert text == "invalid data: a, b, c, d, e (missing); f (string_type)"
    assert refused.value.fields == ("a", "b", "c", "d", "e", "f")
