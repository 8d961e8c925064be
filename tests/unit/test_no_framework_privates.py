"""No module under shared/ or services/ reaches into a Kafka framework's private names (issue 19, point 2).

The frameworks are aiokafka, faust (faust-streaming), mode (faust's service library) and confluent_kafka. Their
underscored names are not an API: they change between patch releases without notice, and code that sets or calls
them (a consumer's `_client`, an admin client's `_send_to_controller`, a transport's `_fetch_max_wait_ms`) silently
breaks on an upgrade. The rule, checked on the syntax tree of every module:

1. `expr._name` (one leading underscore, not a dunder) is refused when `_name` is a private name of the
   frameworks (an underscored identifier of their installed source: `self._client = ...`, `def _send_request`),
   unless `expr` is plainly ours: `self` or `cls` in a class of our own, or a module or name imported from
   `shared`/`services`. Our objects' own underscored attributes (`lexicon._token_cache`, `vocabulary._unique`)
   are not framework names and pass; an attribute of ours that happens to share a framework's private name is
   allowed only by OWN_PRIVATES below. A namedtuple's `_replace`, `_asdict`, ... are public and pass.
2. Any `._name` on a name imported from a framework (`faust_aiokafka._x`) is refused.
3. A class derived from a framework class may not define or touch underscored names the framework defines:
   there, `self._x` is the framework's own state.
4. `import`/`from ... import` of an underscored framework module or name is refused, and so is
   `getattr`/`setattr`/`hasattr`/`delattr` with a literal framework private name.
5. Frame and code introspection (`__code__`, `f_locals`, `cr_frame`, ...) is refused anywhere: it is how a
   framework's coroutines were once recognised and stepped from outside.
"""

import ast
import functools
import importlib.machinery
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("aiokafka", "faust", "mode", "confluent_kafka")
OURS = ("shared", "services")
INTROSPECTION = frozenset(
    {"__code__", "__closure__", "__globals__", "f_locals", "f_globals", "f_back", "f_code", "cr_frame", "cr_await",
     "cr_code", "gi_frame", "gi_yieldfrom", "gi_code", "ag_frame", "ag_await"}
)  # fmt: skip
NAMEDTUPLE_API = frozenset({"_replace", "_asdict", "_fields", "_field_defaults", "_make"})
"""Underscored by design, public by the documentation of collections.namedtuple (aiokafka's records are some)."""
OWN_PRIVATES: frozenset[tuple[str, str]] = frozenset()
"""(path, attribute) of our own objects' underscored attributes that share a framework private name, if any."""


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@functools.cache
def _framework_source() -> str:
    """The installed frameworks' Python source, all of it (a few MB, read once)."""
    texts = []
    for framework in FRAMEWORKS:
        spec = importlib.machinery.PathFinder.find_spec(framework)  # the installed one, not a stub in sys.modules
        assert spec is not None and spec.submodule_search_locations, framework
        for folder in spec.submodule_search_locations:
            texts += [path.read_text(errors="replace") for path in sorted(Path(folder).rglob("*.py"))]
    return "\n".join(texts)


@functools.cache
def framework_privates() -> frozenset[str]:
    """Every underscored identifier of the frameworks' source (defined, assigned or read there: theirs)."""
    names = set(re.findall(r"\b_[A-Za-z]\w*", _framework_source()))
    return frozenset(name for name in names if _private(name)) - NAMEDTUPLE_API


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _top(module: str) -> str:
    return module.split(".")[0]


def check(source: str, path: str = "<source>") -> list[Finding]:
    """What in `source` reaches into a framework's private names (empty: nothing)."""
    tree = ast.parse(source, filename=path)
    privates = framework_privates()
    framework_names: set[str] = set()
    own_names: set[str] = set()
    findings: list[Finding] = []

    def refuse(node: ast.AST, what: str) -> None:
        findings.append(Finding(path, node.lineno, what))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = (alias.asname or alias.name).split(".")[0]
                if _top(alias.name) in FRAMEWORKS:
                    framework_names.add(bound)
                    if any(_private(part) for part in alias.name.split(".")):
                        refuse(node, f"imports the private module {alias.name}")
                elif _top(alias.name) in OURS:
                    own_names.add(bound)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _top(node.module) in FRAMEWORKS:
                framework_names.update(alias.asname or alias.name for alias in node.names)
                for alias in node.names:
                    if any(_private(part) for part in [*node.module.split("."), alias.name]):
                        refuse(node, f"imports a private name: from {node.module} import {alias.name}")
            elif _top(node.module) in OURS:
                own_names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            own_names.update(alias.asname or alias.name for alias in node.names)

    framework_classes = {
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(r := _root(base), ast.Name) and r.id in framework_names for base in node.bases)
    }
    inside_framework_class: set[ast.AST] = set()
    for cls in framework_classes:
        for node in ast.walk(cls):
            inside_framework_class.add(node)
            if node is not cls and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in privates:
                refuse(node, f"class {cls.name} (a framework subclass) overrides the framework's {node.name}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in INTROSPECTION:
                refuse(node, f"frame/code introspection: .{node.attr}")
                continue
            if not _private(node.attr):
                continue
            root = _root(node.value)
            root_name = root.id if isinstance(root, ast.Name) else None
            direct_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if root_name in framework_names:
                refuse(node, f"{ast.unparse(node)}: a private name of a framework module or class")
            elif node.attr not in privates or (path, node.attr) in OWN_PRIVATES:
                continue
            elif direct_self:
                if node in inside_framework_class:
                    refuse(node, f"{ast.unparse(node)}: the framework's own state, from a subclass of it")
            elif root_name in own_names:
                continue
            else:
                refuse(node, f"{ast.unparse(node)}: {node.attr} is a private name of {'/'.join(FRAMEWORKS)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and (node.args[1].value in privates or node.args[1].value in INTROSPECTION)
        ):
            refuse(node, f"{node.func.id}(..., {node.args[1].value!r}): a framework private name by string")
    return findings


def _modules() -> dict[str, str]:
    """The source of every module of shared/ and services/ by its path (one moved away meanwhile is left out)."""
    sources = {}
    for path in sorted(p for folder in OURS for p in (ROOT / folder).rglob("*.py")):
        try:
            sources[path.relative_to(ROOT).as_posix()] = path.read_text()
        except FileNotFoundError:
            continue
    return sources


def test_no_module_of_shared_or_services_reaches_into_a_framework_private_name() -> None:
    findings = []
    for relative, source in _modules().items():
        findings += check(source, relative)
    assert not findings, "framework private names used:\n" + "\n".join(map(str, findings))


# -- the check itself: it refuses what this codebase once did, and lets our own privates be -------------------


@pytest.mark.parametrize(
    "source",
    [
        # partitions_of before: a raw MetadataRequest on the consumer's own client
        "from aiokafka import AIOKafkaConsumer\nasync def f(consumer):\n    client = consumer._client\n",
        # security.py before: aiokafka's admin client's private senders
        "async def f(admin, request):\n    return await admin._send_to_controller(request)\n",
        "async def f(admin, request):\n    return await admin._send_request(request)\n",
        # streams.py before: a transport chain setting the consumer thread's fetch wait
        "from faust.transport.drivers import aiokafka as faust_aiokafka\n"
        "class _Thread(faust_aiokafka.AIOKafkaConsumerThread):\n"
        "    def _create_worker_consumer(self, transport):\n        return None\n",
        "import faust\nclass _App(faust.App):\n    def setup(self):\n        self._fetch_max_wait_ms = 20\n",
        # QuickDelivery before: stepping Faust's coroutines, recognising them by code object and frame locals
        "def f(coro, fn):\n    return coro.cr_frame.f_locals if coro.cr_code is fn.__code__ else None\n",
        "from faust.transport.drivers import aiokafka as faust_aiokafka\nx = faust_aiokafka._something\n",
        "from aiokafka.admin.client import _private_helper\n",
        "def f(consumer):\n    return getattr(consumer, '_client')\n",
        "def f(app):\n    app.conf._fetch_max_wait_ms = 5\n",
    ],
)
def test_the_check_refuses_reaching_into_framework_privates(source: str) -> None:
    assert check(source)


@pytest.mark.parametrize(
    "source",
    [
        "class Probe:\n    def __init__(self):\n        self._client = None\n        self._clients = None\n",
        "from shared.contracts import vocabulary\nx = vocabulary._unique\n",
        "def f(lexicon):\n    return lexicon._token_cache.get\n",  # not a framework name
        "from aiokafka.admin import AIOKafkaAdminClient\nasync def f(admin: AIOKafkaAdminClient):\n"
        "    return await admin.describe_topics(['t'])\n",
        "class Reader:\n    async def start(self):\n        await self._consumer.start()\n",
        "def f(record):\n    return record._replace(value=None)\n",  # a namedtuple's public API
    ],
)
def test_the_check_lets_our_own_underscored_names_and_public_framework_apis_be(source: str) -> None:
    assert check(source) == []
