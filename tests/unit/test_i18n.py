"""Refusals in Danish for `Accept-Language: da`: the catalogue is complete, and the edge uses it."""

import ast
import re
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import APIRouter, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from shared.web.app import create_app
from shared.web.errors import problem
from shared.web.i18n import localise, negotiate, placeholders
from shared.web.messages_da import DANISH, PYDANTIC_DA

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]

# The calls whose arguments become a refusal's title, detail or a field's problem, by argument position.
TEXT_ARGUMENTS = {
    "HTTPException": (1,),
    "problem": (1, 2),
    "problem_body": (1, 2),
    "Refusal": (1,),
    "ConcernConflict": (1,),
    "TargetRefused": (1,),
    "PeriodError": (1,),
    "OutOfScope": (1,),
    "BadCursor": (0,),
    "IllegalTransition": (0,),
    "InvalidMove": (1,),
    "Refused": (1,),
    "Forbidden": (0,),
    "_invalid": (1,),
}
TEXT_KEYWORDS = {"detail", "title"}
# Request bodies' own validators: their ValueError texts are a field's problem in a 422.
REQUEST_MODELS = (
    "shared/contracts/concerns.py",
    "shared/contracts/vocabulary.py",
    "shared/contracts/events.py",
    "shared/contracts/text.py",
    "services/intake/domain/report.py",
    "services/routing/domain/rules.py",
    "services/routing/domain/document.py",
)
SCANNED = ("services", "shared")


def _template(node: ast.expr) -> str | None:
    """The text an expression builds, `{}` for each part that varies; None when it is not text at all."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else "{}") + (right if right is not None else "{}")
    return None


def _texts_of(tree: ast.AST, path: str) -> list[tuple[str, int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in TEXT_ARGUMENTS:
                args = [node.args[i] for i in TEXT_ARGUMENTS[name] if i < len(node.args)]
                args += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
                found += [(path, node.lineno, t) for t in map(_template, args) if t is not None]
        if isinstance(node, ast.Dict):
            keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
            if "field" in keys and "problem" in keys:
                text = _template(node.values[keys.index("problem")])
                found += [(path, node.lineno, text)] if text is not None else []
        if path in REQUEST_MODELS and _raises_value_error(node):
            text = _template(node.exc.args[0])
            found += [(path, node.lineno, text)] if text is not None else []
    return found


def _raises_value_error(node: ast.AST) -> bool:
    exc = getattr(node, "exc", None) if isinstance(node, ast.Raise) else None
    return isinstance(exc, ast.Call) and getattr(exc.func, "id", "") == "ValueError" and bool(exc.args)


def _source_texts() -> list[tuple[str, int, str]]:
    texts = []
    for top in SCANNED:
        for file in sorted((ROOT / top).rglob("*.py")):
            relative = file.relative_to(ROOT).as_posix()
            texts += _texts_of(ast.parse(file.read_text(encoding="utf-8")), relative)
    return texts


def _shape(text: str) -> str:
    return re.sub(r"\{\w*\}", "{}", text)


CATALOGUED = {_shape(english) for english in DANISH}


def _catalogued(text: str) -> bool:
    shape = _shape(text)
    if not re.search(r"[A-Za-z]", shape.replace("{}", "")):
        return True  # only varying parts, e.g. f"{field}: {error}": each part is checked where it is made
    if shape in CATALOGUED:
        return True
    field, sep, rest = shape.partition(": ")
    return bool(sep) and re.fullmatch(r"[\w.{}\[\]-]+", field) is not None and (rest in CATALOGUED or rest == "{}")


def test_the_scan_sees_the_services_refusals() -> None:
    texts = {text for _, _, text in _source_texts()}
    # A few known ones from each service and the shared edge, so a broken scan cannot pass by finding nothing.
    assert {"Not found.", "Missing bearer token.", "must use https", "outside the caller's scope"} <= texts
    assert len(texts) > 40


def test_every_refusal_the_services_make_has_a_danish_text() -> None:
    missing = [f"{path}:{line}: {text!r}" for path, line, text in _source_texts() if not _catalogued(text)]
    assert not missing, "add these to shared/web/messages_da.py:\n" + "\n".join(missing)


def test_every_status_refused_with_has_a_danish_title() -> None:
    from http import HTTPStatus

    statuses = set()
    for top in SCANNED:
        for file in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                refusal = isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("HTTPException", "problem")
                if refusal and node.args and isinstance(node.args[0], ast.Constant):
                    statuses.add(node.args[0].value)
    assert {401, 403, 404, 409, 422, 503} <= statuses
    assert not [s for s in statuses if localise(HTTPStatus(s).phrase, "da") == HTTPStatus(s).phrase]


@pytest.mark.parametrize("english", sorted(DANISH))
def test_each_catalogue_text_is_danish_and_keeps_its_placeholders(english: str) -> None:
    danish = DANISH[english]
    assert danish and danish != english
    assert placeholders(danish) == placeholders(english)
    # Filled in, the English text comes back as the Danish one (no other entry shadows it).
    values = {name: f"x{i}" for i, name in enumerate(sorted(placeholders(english)))}
    assert localise(english.format(**values) if values else english, "da") == (
        danish.format(**values) if values else danish
    )


def test_pydantic_texts_name_only_their_context() -> None:
    for kind, danish in PYDANTIC_DA.items():
        assert danish and re.search(r"[æøåÆØÅ]|skal|må|har|er|kan|mangler", danish), kind


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("da", "da"),
        ("da-DK,da;q=0.9,en-US;q=0.8,en;q=0.7", "da"),
        ("en-GB,en;q=0.9,da;q=0.8", "en"),
        ("de-DE,da;q=0.5", "da"),
        ("da;q=0", "en"),
        ("fr", "en"),
        ("*", "en"),
        ("da;q=bad, en;q=0.1", "en"),
    ],
)
def test_accept_language_is_negotiated(header: str | None, language: str) -> None:
    assert negotiate(header) == language


class Body(BaseModel):
    severity: str = Field(pattern="^(low|medium|high|acute)$")
    description: str = Field(max_length=10)


def _client() -> TestClient:
    router = APIRouter()

    @router.post("/things")
    async def create(body: Body) -> Body:
        return body

    @router.get("/conflict")
    async def conflict() -> None:
        raise HTTPException(409, "cannot move from received to completed; allowed: accepted, cancelled")

    @router.get("/refused")
    async def refused() -> object:
        errors = [{"field": "url", "problem": "must use https"}]
        return problem(422, "Invalid request", "url: must use https", errors=errors)

    @asynccontextmanager
    async def lifespan(_):  # noqa: ANN001, ANN202
        yield

    return TestClient(create_app(title="t", description="t", lifespan=lifespan, routers=[router]))


def test_accept_language_da_gives_danish_titles_and_details_and_english_field_codes() -> None:
    with _client() as client:
        answer = client.post("/things", json={"severity": "x"}, headers={"Accept-Language": "da-DK,da;q=0.9"})
        body = answer.json()
        assert answer.status_code == 422
        assert answer.headers["content-language"] == "da"
        assert answer.headers["vary"] == "Accept-Language"
        assert body["title"] == "Ugyldig forespørgsel"
        assert {e["field"]: e["problem"] for e in body["errors"]} == {
            "severity": "har ikke den krævede form",
            "description": "skal udfyldes",
        }
        assert body["detail"] == "severity: har ikke den krævede form; description: skal udfyldes"

        answer = client.get("/conflict", headers={"Accept-Language": "da"})
        assert (answer.status_code, answer.headers["content-language"]) == (409, "da")
        assert answer.json()["title"] == "Konflikt"
        assert answer.json()["detail"] == "kan ikke flyttes fra received til completed; tilladt: accepted, cancelled"

        answer = client.get("/refused", headers={"Accept-Language": "da"})
        assert answer.json()["detail"] == "url: skal bruge https"
        assert answer.json()["errors"] == [{"field": "url", "problem": "skal bruge https"}]

        answer = client.get("/nowhere", headers={"Accept-Language": "da"})
        assert answer.status_code == 404
        assert (answer.json()["title"], answer.json()["detail"]) == ("Findes ikke", "Findes ikke")


def test_without_danish_in_accept_language_refusals_stay_english() -> None:
    with _client() as client:
        answer = client.post("/things", json={"severity": "x"}, headers={"Accept-Language": "en-GB"})
        assert answer.headers["content-language"] == "en"
        assert answer.json()["title"] == "Invalid request"
        assert answer.json()["errors"][1] == {"field": "description", "problem": "Field required"}
        answer = client.get("/conflict")
        assert answer.json()["detail"].startswith("cannot move from received")


def test_a_refused_rules_document_names_its_problems_in_danish() -> None:
    from services.routing.entrypoints.api.rules_input import InvalidRules, validate_document
    from shared.web import i18n

    token = i18n._language.set("da")  # noqa: SLF001 - as the language middleware sets it for a request
    try:
        with pytest.raises(InvalidRules) as refused:
            validate_document({"rules": "not a list", "unknown": 1})
    finally:
        i18n._language.reset(token)  # noqa: SLF001
    problems = [e["problem"] for e in refused.value.errors]
    assert problems and not [p for p in problems if re.search(r"Field required|Input should|Extra inputs", p)]
    assert "skal udfyldes" in problems
