"""No string a service takes in may hold NUL (PostgreSQL refuses it in text and jsonb: it was a 500, or a consumer
that could not store a record): one check (shared/contracts/text.py) in every body, record and payload."""

import json
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.intake.adapters.mappings import MappingError, load_mappings, map_inbound
from services.intake.adapters.reference_data import InvalidReferenceData, build_directory
from services.intake.handlers.inbound import InboundRefused, handle_inbound
from services.intake.settings import SERVICE_DIR
from services.notify.entrypoints.schemas import SubscriptionIn
from services.routing.entrypoints.api.rules_input import InvalidRules, validate_document
from services.routing.entrypoints.schemas import TransitionRequest
from shared.contracts.clients import decode_api_client, encode_api_client
from shared.contracts.concern_report import ConcernReport
from shared.contracts.envelope import decode, encode
from shared.contracts.errors import ContractError
from shared.contracts.examples import example_api_client, example_events, example_inbound
from shared.contracts.inbound import InboundConcern, decode_inbound, encode_inbound
from shared.contracts.reference import ReferenceContent
from shared.contracts.text import FreeText, Line
from tests.support.intake_harness import concern_body
from tests.support.reference import MUNICIPALITIES_FILE, default_rules, owner_directory
from tests.unit.test_intake_handlers_unit import deps_without_database

pytestmark = pytest.mark.unit
LINE_REFUSED = ["\x00", "\x01", "\x07", "\x1b", "\x1f", "\x7f", "\t", "\n", "\r"]
TEXT_REFUSED = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]
OFFICIAL = {row.split(",")[0]: row.split(",")[1] for row in MUNICIPALITIES_FILE.read_text().splitlines()[1:]}


def fields_refused(model: type[BaseModel], value: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(value)
    return [".".join(str(p) for p in e["loc"]) for e in refused.value.errors(include_input=False)]


@pytest.mark.parametrize("character", LINE_REFUSED, ids=repr)
def test_a_line_holds_no_control_character(character: str) -> None:
    with pytest.raises(ValidationError, match="must not hold control characters"):
        TypeAdapter(Line).validate_python(f"Holbæk{character}Kommune")


@pytest.mark.parametrize("character", TEXT_REFUSED, ids=repr)
def test_free_text_holds_no_control_character_but_tab_and_line_breaks(character: str) -> None:
    with pytest.raises(ValidationError, match="other than tab and line breaks"):
        TypeAdapter(FreeText).validate_python(f"Lugt{character} fra opgangen")
    assert TypeAdapter(FreeText).validate_python("Lugt\tfra\r\nopgangen\n") == "Lugt\tfra\r\nopgangen\n"
    assert TypeAdapter(Line).validate_python("Holbæk Kommune – én indgang") == "Holbæk Kommune – én indgang"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"description": "Lugt\x00"}, "description"),
        ({"tenancy_id": "17-\x000042"}, "tenancy_id"),
        ({"reporter": {"role": "caretaker", "name": "Test\x00"}}, "reporter.name"),
        ({"reporter": {"role": "caretaker", "contact": "vv@example.org\x00"}}, "reporter.contact"),
        ({"resident": {"address": "Testvej 1\x00"}}, "resident.address"),
        ({"resident": {"email": "b\x00@example.org"}}, "resident.email"),
        ({"external_ref": {"system": "beboerapp-b", "id": "B-\x00"}}, "external_ref.id"),
    ],
)
def test_a_concern_report_refuses_nul_in_each_text_field(override: dict, field: str) -> None:
    assert fields_refused(ConcernReport, concern_body(**override)) == [field]


def test_a_concern_report_keeps_line_breaks_in_the_description_and_strips_a_name_s_trailing_one() -> None:
    report = ConcernReport.model_validate(
        concern_body(description="Første linje\n\tanden linje", reporter={"role": "caretaker", "name": "Test\n"})
    )
    assert report.description == "Første linje\n\tanden linje" and report.reporter.name == "Test"


def _directory_with(change: Any) -> dict[str, Any]:
    content = owner_directory().content().model_dump(mode="json")
    change(content)
    return content


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["organisations"][0].update(name="\x8f\x00\xc4"), "organisations.0.name"),
        (
            lambda c: c["organisations"][0]["departments"][0].update(name="Afd\x00"),
            "organisations.0.departments.0.name",
        ),
        (lambda c: next(iter(c["recipients"].values())).update(name="Navn\x00"), "recipients.{first}.name"),
        (lambda c: next(iter(c["recipients"].values())).update(email="a\x00@b.dk"), "recipients.{first}.email"),
        (lambda c: next(iter(c["municipalities"].values())).update(name="Kommune\x00"), "municipalities.{code}.name"),
    ],
)
def test_the_reference_directory_refuses_nul_in_every_name_and_address(change: Any, field: str) -> None:
    content = _directory_with(change)
    field = field.format(first=next(iter(content["recipients"])), code=next(iter(content["municipalities"])))
    with pytest.raises(InvalidReferenceData) as refused:
        build_directory(content, OFFICIAL)
    assert [f for f, _ in refused.value.problems] == [field]
    assert fields_refused(ReferenceContent, content) == [field]


@pytest.mark.parametrize("attribute", ["id", "source", "subject", "dataschema"])
def test_an_event_with_nul_in_an_envelope_attribute_is_a_contract_error_not_a_row_postgresql_refuses(
    attribute: str,
) -> None:
    event = json.loads(encode(example_events("nul")[0]))
    event[attribute] = "x\x00"
    with pytest.raises(ContractError) as refused:
        decode(json.dumps(event).encode())
    assert refused.value.fields == (attribute,) and refused.value.reason == "invalid_envelope"


def test_an_inbound_record_or_api_client_record_with_nul_is_a_contract_error() -> None:
    inbound = json.loads(encode_inbound(example_inbound("nul")))
    with pytest.raises(ContractError) as refused:
        decode_inbound(json.dumps(inbound | {"external_id": "RA-\x00"}))
    assert refused.value.fields == ("external_id",)
    client = json.loads(encode_api_client(example_api_client("nul")))
    with pytest.raises(ContractError) as refused:
        decode_api_client(json.dumps(client | {"name": "Holbæk\x00"}))
    assert refused.value.fields == ("name",)


async def test_an_inbound_payload_with_nul_in_a_mapped_field_is_dead_lettered_naming_the_field() -> None:
    payload = {
        "afdelingsnr": "HB-101",
        "sagstyper": ["DEMENS"],
        "alvor": "3",
        "observeret_tid": "2025-03-04T08:30:00+01:00",
        "beskrivelse": "Lugt\x00 fra opgangen",
        "samtykke": "N",
        "indberetter": {"funktion": "VICEVAERT", "navn": "Fiktiv\x00 Vicevært"},
    }
    with pytest.raises(MappingError) as refused:
        map_inbound(load_mappings(SERVICE_DIR / "mappings")["ejendomssystem-a"], payload, "A-nul")
    assert {field for field, _ in refused.value.problems} >= {"description", "reporter.name"}
    message = InboundConcern(system="ejendomssystem-a", external_id="A-nul", payload=payload)
    with pytest.raises(InboundRefused) as dead:
        await handle_inbound(deps_without_database(), message)
    assert dead.value.reason == "invalid_mapping_result" and "description: " in str(dead.value)


def test_routing_refuses_nul_in_a_note_and_in_every_text_of_a_rules_document() -> None:
    assert fields_refused(TransitionRequest, {"to": "received", "note": "Ringet\x00 op"}) == ["note"]
    assert TransitionRequest.model_validate({"to": "received", "note": "Ringet op.\nIngen svar."}).note
    document = default_rules().model_dump(mode="json", exclude={"municipalities", "consultants", "associations"})
    for change, field in (
        ({"name": "Regler\x00"}, "name"),
        ({"description": "Beskrivelse\x00"}, "description"),
        ({"rules": [document["rules"][0] | {"description": "x\x00"}, *document["rules"][1:]]}, "rules.0.description"),
    ):
        with pytest.raises(InvalidRules) as refused:
            validate_document(document | change)
        assert [e["field"] for e in refused.value.errors] == [field]


def test_notify_refuses_nul_in_a_subscription_s_url_and_label() -> None:
    body = {"url": "https://example.org/hook", "event_types": ["referral.created.v1"]}
    assert fields_refused(SubscriptionIn, body | {"url": "https://example.org/\x00"}) == ["url"]
    assert fields_refused(SubscriptionIn, body | {"description": "Vores\x00"}) == ["description"]
