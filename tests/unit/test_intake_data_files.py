"""intake's data files: guidance for every category, the reference data, and both inbound mappings."""

from pathlib import Path

import pytest

from services.intake.adapters.guidance_files import load_guidance
from services.intake.adapters.mappings import MappingError, load_mappings, map_inbound, read_mapping
from services.intake.adapters.reference_data import departments_of, municipality_codes, read_reference_file
from services.intake.domain.guidance import guidance_for
from services.intake.settings import SERVICE_DIR
from shared.contracts.vocabulary import Category

pytestmark = pytest.mark.unit

GUIDANCE = load_guidance(SERVICE_DIR / "guidance")
MAPPINGS = load_mappings(SERVICE_DIR / "mappings")
REFERENCE = SERVICE_DIR / "reference"

EJENDOMSSYSTEM_A = {
    "afdelingsnr": "HO-201",
    "lejemaalsnr": "201-0007",
    "sagstyper": ["DEMENS", "LUGT"],
    "alvor": "3",
    "beskrivelse": "Beboeren har flere gange ikke kunnet finde hjem. (Fiktivt.)",
    "observeret_tid": "2025-03-03T16:45:00+01:00",
    "samtykke": "N",
    "hjemmel": "LIV",
    "indberetter": {"funktion": "VICEVAERT", "navn": "Fiktiv Vicevært", "telefon": "11 22 33 44"},
    "beboer": {"navn": "Fiktiv Grethe", "adresse": "Vængevej 3, 4270 Høng"},
}
BEBOERAPP_B = {
    "report": {
        "estateNo": 1101,
        "unit": "12B",
        "concernTypes": [{"code": 11}, {"code": 8}],
        "urgency": 0,
        "details": "My neighbour seems very lonely and plays loud TV at night. (Fictional.)",
        "observedAt": "2025-03-01T21:00:00Z",
        "residentConsent": True,
    },
    "submittedBy": {"kind": "board_member", "displayName": "Fictional Board Member", "email": "board@example.org"},
}


def test_every_category_has_practical_danish_guidance() -> None:
    assert set(GUIDANCE) == set(Category)
    for category, guidance in GUIDANCE.items():
        assert guidance.category is category and guidance.language == "da"
        assert "112" in guidance.call_112, category
        assert guidance.do_now and guidance.avoid and guidance.consent
        assert any(word in guidance.consent.lower() for word in ("samtykke", "spørg", "lov", "ja")), category


def test_violence_and_abuse_guidance_comes_first() -> None:
    ordered = guidance_for(GUIDANCE, [Category.NOISE, Category.THREATS_OR_VIOLENCE])
    assert [g.category for g in ordered] == [Category.THREATS_OR_VIOLENCE, Category.NOISE]


def test_a_missing_guidance_file_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text((SERVICE_DIR / "guidance" / "other.yaml").read_text())
    with pytest.raises(ValueError, match="no guidance for mental_health"):
        load_guidance(tmp_path)


def test_reference_data_holds_the_shared_demo_departments_with_official_codes() -> None:
    data = read_reference_file(REFERENCE / "organisations.yaml", REFERENCE / "municipalities.csv")
    departments = {d.id: d for d in departments_of(data)}
    assert {k: d.municipality_code for k, d in departments.items()} == {
        "holbaek-1": "0316", "holbaek-2": "0316", "hoeng-1": "0326", "kalundborg-1": "0326",
        "roskilde-1": "0265", "odense-1": "0461", "aarhus-1": "0751",
    }  # fmt: skip
    assert departments["hoeng-1"].consultants == ("consultant-holbaek",)
    assert departments["odense-1"].associations == ("association-odense-besoegsvenner",)
    assert all(d.organisation_id == "org-demo" and d.tenancies > 0 for d in departments.values())
    codes = municipality_codes(REFERENCE / "municipalities.csv")
    assert len(codes) == 98 and codes["0326"] == "Kalundborg"


def test_reference_data_with_an_unknown_municipality_code_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "organisations.yaml"
    broken.write_text((REFERENCE / "organisations.yaml").read_text().replace('"0751"', '"0999"'))
    aarhus = r"organisations\[0\]\.departments\[6\]\.municipality_code: unknown municipality code"
    with pytest.raises(ValueError, match=aarhus):
        read_reference_file(broken, REFERENCE / "municipalities.csv")


def test_both_example_systems_have_mappings() -> None:
    assert set(MAPPINGS) == {"ejendomssystem-a", "beboerapp-b"}


def test_ejendomssystem_a_maps_danish_fields_and_its_codes() -> None:
    report = map_inbound(MAPPINGS["ejendomssystem-a"], EJENDOMSSYSTEM_A, "A-77")
    assert report.department_id == "hoeng-1" and report.tenancy_id == "201-0007"
    assert [c.value for c in report.categories] == ["dementia_signs", "odour_nuisance"]
    assert (report.severity.value, report.consent.value, report.legal_basis) == ("high", "refused", "vital_interest")
    assert report.reporter.role.value == "caretaker" and report.reporter.contact == "11 22 33 44"
    assert report.resident is not None and report.resident.address == "Vængevej 3, 4270 Høng"
    assert (report.external_ref.system, report.external_ref.id) == ("ejendomssystem-a", "A-77")
    assert report.observed_at.isoformat() == "2025-03-03T16:45:00+01:00"


def test_beboerapp_b_maps_nested_english_json_and_numeric_codes() -> None:
    report = map_inbound(MAPPINGS["beboerapp-b"], BEBOERAPP_B, "b-1")
    assert report.department_id == "holbaek-1" and report.tenancy_id == "1101-12B"
    assert [c.value for c in report.categories] == ["loneliness", "noise"]
    assert (report.severity.value, report.consent.value) == ("low", "given")
    assert report.reporter.role.value == "resident_representative"
    assert report.reporter.contact == "board@example.org" and report.resident is None


def test_defaults_fill_what_a_payload_leaves_out() -> None:
    payload = {"report": {k: v for k, v in BEBOERAPP_B["report"].items() if k not in ("residentConsent", "unit")}}
    report = map_inbound(MAPPINGS["beboerapp-b"], payload, "b-2")
    assert report.consent.value == "not_asked" and report.reporter.role.value == "other" and report.tenancy_id is None


def test_a_code_outside_the_code_list_is_refused_without_echoing_it() -> None:
    payload = EJENDOMSSYSTEM_A | {"sagstyper": ["HEMMELIG-KODE"]}
    with pytest.raises(MappingError) as refused:
        map_inbound(MAPPINGS["ejendomssystem-a"], payload, "A-78")
    assert refused.value.field == "categories" and "HEMMELIG" not in str(refused.value)


def test_a_mapping_with_a_broken_expression_or_unknown_target_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "sys-x.yaml"
    bad.write_text("system: sys-x\nfields:\n  description: 'foo[?'\n")
    with pytest.raises(ValueError, match="invalid JMESPath"):
        read_mapping(bad)
    bad.write_text("system: sys-x\nfields:\n  resident.shoe_size: a\n")
    with pytest.raises(ValueError, match="unknown target"):
        read_mapping(bad)
    bad.write_text("system: sys-y\nfields:\n  description: a\n")
    with pytest.raises(ValueError, match="does not match the file name"):
        read_mapping(bad)
