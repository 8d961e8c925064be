"""Who may do what on the broker: one SCRAM principal per service and per housing system, and their ACLs.

The broker authenticates every client (SASL/SCRAM-SHA-512) and authorises it with these ACLs
(StandardAuthorizer, nothing allowed without an ACL). The operator's principal (`admin`, the `crp` CLI and
the stack's own setup) is the broker's super user: it alone writes `api-clients`. Each service reads and
writes only its own topics and groups; a housing system may only write `concern-inbound`.

Topics carry a deployment prefix (tests give each test its own): the ACLs name the prefixed topics
literally and the service's groups, transactional ids and Faust's internal topics by prefix
(`<prefix><service>`), so `grant(prefix)` is called for each prefix the topics are created for.
"""

import hashlib
import secrets as random
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Array,
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    String,
    TaggedFields,
)

from shared.contracts.topics import (
    API_CLIENTS,
    CONCERN_EVENTS,
    CONCERN_INBOUND,
    NOTIFICATION_EVENTS,
    REFERENCE_DATA,
    REFERRAL_EVENTS,
    dlq,
)
from shared.kafka.config import SASL_MECHANISM, client_config

ADMIN_PRINCIPAL = "admin"
"""The operator's principal: `crp` (clients, topics, dead letters), the stack's setup; the broker's super user."""
CONTROLLER_PRINCIPAL = "controller"
"""The KRaft controller listener's own principal (SASL/PLAIN; SCRAM needs the metadata the controller serves)."""
SERVICE_PRINCIPALS = ("intake", "routing", "notify", "stats")
HOUSING_PREFIX = "housing-"
MAPPINGS = Path(__file__).resolve().parents[2] / "services" / "intake" / "mappings"
SCRAM_ITERATIONS = 8192


def housing_systems(mappings: Path = MAPPINGS) -> list[str]:
    """The inbound housing systems intake has a mapping for (each gets its own principal)."""
    return sorted(p.stem for p in mappings.glob("*.yaml"))


def housing_principal(system: str) -> str:
    """The principal a housing system writes `concern-inbound` as."""
    return HOUSING_PREFIX + system


def principals() -> list[str]:
    """Every SCRAM principal of the platform: the operator, the four services, each housing system."""
    return [ADMIN_PRINCIPAL, *SERVICE_PRINCIPALS, *map(housing_principal, housing_systems())]


class Resource(IntEnum):
    """Kafka's ResourceType codes."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class Pattern(IntEnum):
    """Kafka's PatternType codes."""

    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's AclOperation codes."""

    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10


ALLOW = 3
ANY_HOST = "*"


@dataclass(frozen=True)
class Acl:
    """One allow rule: `principal` may `operation` on the resource."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def creation(self) -> tuple[int, str, int, str, str, int, int]:
        """The CreateAcls v1 entry."""
        return (
            int(self.resource),
            self.name,
            int(self.pattern),
            f"User:{self.principal}",
            ANY_HOST,
            int(self.operation),
            ALLOW,
        )


READS = (Operation.READ, Operation.DESCRIBE)
WRITES = (Operation.WRITE, Operation.DESCRIBE)

SERVICE_TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "intake": {
        "read": (CONCERN_INBOUND, REFERRAL_EVENTS, API_CLIENTS, REFERENCE_DATA),
        "write": (CONCERN_EVENTS, REFERENCE_DATA, dlq(CONCERN_INBOUND), dlq(REFERRAL_EVENTS)),
    },
    "routing": {
        "read": (CONCERN_EVENTS, REFERRAL_EVENTS, API_CLIENTS, REFERENCE_DATA),
        "write": (REFERRAL_EVENTS, dlq(CONCERN_EVENTS)),
    },
    "notify": {
        "read": (REFERRAL_EVENTS, CONCERN_EVENTS, API_CLIENTS, REFERENCE_DATA),
        "write": (NOTIFICATION_EVENTS, dlq(REFERRAL_EVENTS), dlq(CONCERN_EVENTS)),
    },
    "stats": {
        "read": (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS, API_CLIENTS, REFERENCE_DATA),
        "write": (dlq(CONCERN_EVENTS), dlq(REFERRAL_EVENTS), dlq(NOTIFICATION_EVENTS)),
    },
}
"""The topics each service consumes (with `api-clients` and `reference-data` it follows) and produces to."""

STATS_OBSERVES = ("intake-service", "intake-service-referrals", "routing-service", "notify-service")
"""Groups whose lag stats reports (their committed offsets: DESCRIBE only, never their records)."""


def service_acls(service: str, prefix: str = "") -> list[Acl]:
    """What `service` may do under `prefix`: its topics, and its own groups, transactional ids and Faust topics."""
    topics = SERVICE_TOPICS[service]
    acls = [Acl(service, Resource.TOPIC, prefix + t, Pattern.LITERAL, op) for t in topics["read"] for op in READS]
    acls += [Acl(service, Resource.TOPIC, prefix + t, Pattern.LITERAL, op) for t in topics["write"] for op in WRITES]
    own = prefix + service  # `<prefix>routing-service`, `<prefix>routing-outbox-relay`, Faust's `<app id>-...`
    acls += [Acl(service, Resource.GROUP, own, Pattern.PREFIXED, op) for op in READS]
    acls += [Acl(service, Resource.TRANSACTIONAL_ID, own, Pattern.PREFIXED, op) for op in WRITES]
    if service in ("routing", "stats"):  # Faust creates and uses its own internal topics (assignor leader)
        internal = (Operation.CREATE, Operation.READ, Operation.WRITE, Operation.DESCRIBE, Operation.DESCRIBE_CONFIGS)
        acls += [Acl(service, Resource.TOPIC, own, Pattern.PREFIXED, op) for op in internal]
    if service == "stats":
        observed = [(Resource.GROUP, prefix + g) for g in STATS_OBSERVES] + [(Resource.TOPIC, prefix + CONCERN_INBOUND)]
        acls += [Acl(service, kind, name, Pattern.LITERAL, Operation.DESCRIBE) for kind, name in observed]
    return acls


def housing_acls(system: str, prefix: str = "") -> list[Acl]:
    """A housing system writes `concern-inbound` and nothing else (it reads nothing, not even its own)."""
    topic = prefix + CONCERN_INBOUND
    return [Acl(housing_principal(system), Resource.TOPIC, topic, Pattern.LITERAL, op) for op in WRITES]


def planned_acls(prefix: str = "") -> list[Acl]:
    """Every ACL of a deployment with `prefix`; the admin principal needs none (super user)."""
    acls = [acl for service in SERVICE_PRINCIPALS for acl in service_acls(service, prefix)]
    return acls + [acl for system in housing_systems() for acl in housing_acls(system, prefix)]


# -- the admin protocol calls aiokafka's admin client lacks -------------------------------------------------


class _CreateAclsResponse_v1(Response):  # noqa: N801 - Kafka's protocol naming
    API_KEY = 30
    API_VERSION = 1
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("creation_responses", Array(("error_code", Int16), ("error_message", String("utf-8")))),
    )


class _CreateAclsRequest_v1(RequestStruct):  # noqa: N801
    API_KEY = 30
    API_VERSION = 1
    RESPONSE_TYPE = _CreateAclsResponse_v1
    SCHEMA = Schema(
        (
            "creations",
            Array(
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
                ("resource_pattern_type", Int8),
                ("principal", String("utf-8")),
                ("host", String("utf-8")),
                ("operation", Int8),
                ("permission_type", Int8),
            ),
        ),
    )


class _CreateAcls(Request[_CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, creations: list[tuple[Any, ...]]):
        self._creations = creations

    def build(self, request_struct_class: type[_CreateAclsRequest_v1]) -> _CreateAclsRequest_v1:
        return request_struct_class(self._creations)


class _AlterScramResponse_v0(Response):  # noqa: N801
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramRequest_v0(RequestStruct):  # noqa: N801
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


_Upsertion: TypeAlias = tuple[str, int, int, bytes, bytes, dict]


class _AlterScram(Request[_AlterScramRequest_v0]):
    API_KEY = 51

    def __init__(self, upsertions: list[_Upsertion]):
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_AlterScramRequest_v0]) -> _AlterScramRequest_v0:
        return request_struct_class([], self._upsertions, {})


SCRAM_SHA_512 = 2
"""Kafka's ScramMechanism code of SCRAM-SHA-512."""


def _salted(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> bytes:
    """RFC 5802's SaltedPassword: the broker stores keys derived from it, never the password."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


class AclError(RuntimeError):
    """The broker refused an ACL or a credential change; the message says which."""


async def _admin(bootstrap_servers: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**client_config(bootstrap_servers, client_id="crp-security", request_timeout_ms=15000))
    await admin.start()
    return admin


async def set_passwords(bootstrap_servers: str, passwords: dict[str, str]) -> None:
    """Create or rotate the SCRAM credentials of `passwords`' principals (as the admin principal)."""
    assert SASL_MECHANISM == "SCRAM-SHA-512"  # noqa: S101 - the mechanism code below is SCRAM-SHA-512's
    upsertions = []
    for name, password in passwords.items():
        salt = random.token_bytes(32)
        upsertions.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, _salted(password, salt), {}))
    admin = await _admin(bootstrap_servers)
    try:
        response = await admin._send_to_controller(_AlterScram(upsertions))  # noqa: SLF001
    finally:
        await admin.close()
    failed = [f"{user}: {message or for_code(code).__name__}" for user, code, message, _ in response.results if code]
    if failed:
        raise AclError("setting Kafka credentials failed: " + "; ".join(failed))


async def create_acls(bootstrap_servers: str, acls: list[Acl]) -> None:
    """Create the ACLs (an existing one is left as it is) as the admin principal."""
    admin = await _admin(bootstrap_servers)
    try:
        creations = [acl.creation() for acl in dict.fromkeys(acls)]
        for start in range(0, len(creations), 500):
            response = await admin._send_request(_CreateAcls(creations[start : start + 500]))  # noqa: SLF001
            failed = [message or for_code(code).__name__ for code, message in response.creation_responses if code]
            if failed:
                raise AclError("creating Kafka ACLs failed: " + "; ".join(sorted(set(failed))))
    finally:
        await admin.close()


async def grant(bootstrap_servers: str, prefix: str = "") -> None:
    """The platform's ACLs for the deployment (or test) with `prefix`."""
    await create_acls(bootstrap_servers, planned_acls(prefix))
