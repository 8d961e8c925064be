"""intake's triage of the Danish free text: the labelled set's figures, negation, stemming, exclusions, the lexicon."""

import hashlib
import time
from pathlib import Path

import pytest
import yaml

from services.intake.domain import triage
from services.intake.domain.guidance import hint_guidance_for
from services.intake.domain.triage import (
    DANGER_HINTS,
    HINT_CODES,
    compile_lexicon,
    hint_guidance,
    hints_in,
    lexicon_version,
    load_hint_guidance,
    read_hints,
)
from tests.support.triage_scoring import DANGER_PRECISION, DANGER_RECALL, load_labelled, report_lines, score

pytestmark = pytest.mark.unit

SENTENCES = load_labelled()
SCORES = score(read_hints, SENTENCES)


def test_the_labelled_set_is_large_and_covers_every_hint() -> None:
    assert len(SENTENCES) >= 300
    assert sum(1 for s in SENTENCES if not s.hints) >= 100, "too few sentences without a hint"
    for code in HINT_CODES:
        assert SCORES[code].positives >= (25 if code in DANGER_HINTS else 10), code


@pytest.mark.parametrize("code", sorted(DANGER_HINTS))
def test_a_danger_hint_meets_its_target_on_the_labelled_set(code: str) -> None:
    s = SCORES[code]
    assert s.recall >= DANGER_RECALL and s.precision >= DANGER_PRECISION, "\n".join(report_lines({code: s}))


@pytest.mark.parametrize("code", sorted(set(HINT_CODES) - DANGER_HINTS))
def test_another_hint_is_found_in_most_sentences_that_have_it(code: str) -> None:
    s = SCORES[code]
    assert s.recall >= 0.85 and s.precision >= 0.8, "\n".join(report_lines({code: s}))


def test_the_set_holds_what_the_issue_names() -> None:
    texts = [s.text for s in SENTENCES]
    assert any("gaskomfuret er skiftet" in t.lower() for t in texts)
    assert any("orker sgu ik mer" in t for t in texts)
    assert any("selvmor " in t for t in texts)
    assert any("ikke selvmordstruet" in t for t in texts)


@pytest.mark.parametrize(
    ("text", "hints"),
    [
        ("Hun er selvmordstruet.", ("possible_suicide_risk",)),
        ("Hun er ikke selvmordstruet.", ()),
        ("Jeg tror ikke hun er selvmordstruet.", ()),
        ("Der er ingen tegn på vold.", ()),
        ("Der er tegn på vold.", ("violence_or_threats",)),
        ("Han har ikke nogen gaslugt i lejligheden.", ()),
        ("Han har gaslugt i lejligheden.", ("fire_or_gas",)),
        ("Der er ikke noget, der tyder på vold.", ()),
        ("Det lugter ikke af gas.", ()),
        ("Selvmordstanker har hun ikke.", ()),
        ("Hun har aldrig været voldelig.", ()),
        # The scope ends with the clause: what follows 'men' or a comma is read again.
        ("Hun er ikke i fare, men hun taler om selvmord.", ("possible_suicide_risk",)),
        ("Han er ikke fuld, han har gaslugt i køkkenet.", ("fire_or_gas",)),
        ("Hun drikker ikke, og hun har blå mærker.", ("violence_or_threats",)),
        # The negation that is the danger itself.
        ("Hun orker ikke at leve mere.", ("possible_suicide_risk",)),
        ("at hun ikke orker mere", ("possible_suicide_risk",)),
        ("Han åbner ikke døren.", ("possible_fall_or_helpless",)),
        ("Hun kan ikke rejse sig fra gulvet.", ("possible_fall_or_helpless",)),
    ],
)
def test_negation(text: str, hints: tuple[str, ...]) -> None:
    assert read_hints(text) == hints


@pytest.mark.parametrize(
    "text",
    [
        "Han slår hende.", "Han slog hende.", "Han har slået hende.",  # inflections of one verb
        "Hun blev truet.", "Han truer naboen.", "Der er kommet trusler.", "Han kom med en trussel.",
        "Han TRUEDE hende!",  # case
        "Der har været partnervold.", "Hun er voldsramt.",  # compounds
    ],
)  # fmt: skip
def test_inflected_and_compound_forms_of_violence(text: str) -> None:
    assert read_hints(text) == ("violence_or_threats",)


@pytest.mark.parametrize(
    "text",
    ["Hun har selvmordstanker.", "Han har forsøgt selvmord.", "Et selvmordsforsøg.", "hun snakker om selvmor",
     "Hun vil tage sit eget liv.", "Han tog næsten sit liv.", "Han orker sgu ik mer", "Hun gider ikke leve mere"],
)  # fmt: skip
def test_spellings_and_forms_of_suicide_risk(text: str) -> None:
    assert read_hints(text)[:1] == ("possible_suicide_risk",)


@pytest.mark.parametrize(
    "text",
    [
        "Gaskomfuret er skiftet.",
        "Gaskomfuret er skiftet til et elkomfur.",
        "Gasmåleren aflæses i morgen.",
        "Røgalarmen er testet.",
        "Der er sat nye røgalarmer op.",
        "Brandøvelsen er holdt.",
        "Han brænder for foreningen.",
        "Det brænder på med at få ryddet kælderen.",
        "Han hænger sig i småting.",
        "Vi slår tiden ihjel med kortspil.",
        "Han banker på hos naboen.",
        "Jeg hører stemmer fra naboen.",
        "Huslejen er faldet.",
        "Han faldt i søvn.",
        "Demensugen var en succes.",
        "Postkassen er fuld.",
        "Mødet er udsat til næste uge.",
        "Hun truer med at klage.",
        "Der ligger tøj på gulvet.",
    ],
)
def test_a_mention_without_the_danger_gives_no_danger_hint(text: str) -> None:
    assert not set(read_hints(text)) & DANGER_HINTS
    assert read_hints(text) in ((), ("possible_hoarding",))


def test_an_exclusion_voids_only_the_phrase_it_overlaps() -> None:
    assert read_hints("Gaskomfuret er skiftet, men nu lugter det af gas i opgangen.") == ("fire_or_gas",)
    assert read_hints("Han hænger sig i småting og taler om selvmord.") == ("possible_suicide_risk",)


def test_codes_come_in_the_order_of_hint_codes_once_each_from_every_text() -> None:
    codes = read_hints("Hun skylder husleje.", None, "", "Han slår hende, og han slår hende igen. Det lugter af gas.")
    assert codes == ("fire_or_gas", "violence_or_threats", "possible_eviction")
    assert read_hints() == () and read_hints(None) == () and read_hints("   ") == ()


def test_full_stops_in_addresses_and_times_do_not_end_the_sentence() -> None:
    assert read_hints("Ingen har set manden på 3. tv. siden fredag.") == ("possible_fall_or_helpless",)
    assert read_hints("Der er ikke gaslugt. Han slår hende.") == ("violence_or_threats",)


def test_the_lexicon_file_is_versioned_by_number_and_content() -> None:
    raw = triage.LEXICON_FILE.read_bytes()
    document = yaml.safe_load(raw)
    assert lexicon_version() == f"{document['version']}+{hashlib.sha256(raw).hexdigest()[:12]}"


def test_every_entry_of_the_lexicon_has_a_note_and_compiles() -> None:
    document = yaml.safe_load(triage.LEXICON_FILE.read_text(encoding="utf-8"))
    assert set(document["hints"]) == set(HINT_CODES)
    for code, entry in document["hints"].items():
        assert entry["phrases"], code
        for item in entry["phrases"] + (entry.get("exclusions") or []):
            assert str(item.get("note", "")).strip(), (code, item["match"])


def _tiny(hints: dict) -> dict:
    base = yaml.safe_load(triage.LEXICON_FILE.read_text(encoding="utf-8"))
    return {"version": 9, "negation": base["negation"], "hints": hints}


def test_a_lexicon_without_notes_or_with_unknown_codes_is_refused() -> None:
    with pytest.raises(ValueError, match="no note"):
        compile_lexicon(_tiny({"fire_or_gas": {"phrases": [{"match": "gas"}]}}), "9")
    with pytest.raises(ValueError, match="unknown hint"):
        compile_lexicon(_tiny({"flood": {"phrases": [{"match": "vand", "note": "x"}]}}), "9")
    with pytest.raises(ValueError, match="no tokens"):
        compile_lexicon(_tiny({"fire_or_gas": {"phrases": [{"match": "..2", "note": "x"}]}}), "9")


def test_gaps_and_clause_ends_in_a_phrase() -> None:
    lexicon = compile_lexicon(
        _tiny(
            {"fire_or_gas": {"phrases": [{"match": "lugt* ..2 gas", "note": "x"}, {"match": "brand $", "note": "y"}]}}
        ),
        "9",
    )
    assert hints_in(lexicon, "lugter af gas") == ("fire_or_gas",)
    assert hints_in(lexicon, "lugter meget kraftigt af gas") == ()  # three tokens between: beyond the gap
    assert hints_in(lexicon, "lugter, gas") == ()  # a gap does not cross a comma
    assert hints_in(lexicon, "der er brand") == ("fire_or_gas",)
    assert hints_in(lexicon, "der er brand i dag") == ()


def test_read_hints_is_fast_on_the_longest_description() -> None:
    words = " ".join(s.text for s in SENTENCES)
    longest = words[:4000]  # the description's max_length (shared/contracts/concern_report.py)
    read_hints(longest)
    started = time.perf_counter()
    for _ in range(20):
        read_hints(longest)
    assert (time.perf_counter() - started) / 20 < 0.05  # only a gross regression: the bench measures p99


def test_triage_neither_logs_nor_raises_with_the_text(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Fiktiv Hemmeligsen har selvmordstanker"
    with caplog.at_level("DEBUG"):
        read_hints(secret, 12, b"x")  # type: ignore[arg-type]  - a wrong type is no hint, not an error with the text
    assert secret not in caplog.text
    source = Path(triage.__file__).read_text(encoding="utf-8")
    assert "logging" not in source and "structlog" not in source and "print(" not in source


def test_every_hint_has_danish_guidance_for_the_reporter() -> None:
    codes = list(reversed(HINT_CODES))
    guidance = hint_guidance(codes, lang="da")
    assert [g["code"] for g in guidance] == codes  # in the order asked
    for g in guidance:
        assert set(g) == {"code", "title", "text", "call_112"}
        assert g["title"].startswith("Du skriver noget") and 40 <= len(g["text"]) <= 600, g["code"]
        assert g["call_112"] is (g["code"] in DANGER_HINTS), g["code"]
        if g["call_112"]:
            assert g["text"].startswith("Ring 112 nu, hvis"), g["code"]
    assert hint_guidance(["possible_suicide_risk"], lang="en") == hint_guidance(["possible_suicide_risk"])
    assert hint_guidance(["no_such_hint"]) == []


def test_the_201_answer_carries_triage_s_guidance() -> None:
    shown = hint_guidance_for(["possible_eviction", "possible_suicide_risk"])
    assert [g.code.value for g in shown] == ["possible_suicide_risk", "possible_eviction"]  # danger first
    assert "70 201 201" in shown[0].text  # Livslinien, from services/intake/triage/guidance_da.yaml


def test_a_guidance_file_without_a_hint_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(triage.GUIDANCE_FILES["da"].read_text(encoding="utf-8"))
    del document["hints"]["fire_or_gas"]
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="no guidance for fire_or_gas"):
        load_hint_guidance(tmp_path / "g.yaml")
