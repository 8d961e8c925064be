"""Who may do what on the broker: one SCRAM principal per service and per housing system, and their ACLs.

The broker authenticates every client (SASL/SCRAM-SHA-512) and authorises it with these ACLs
(StandardAuthorizer, nothing allowed without an ACL). The operator's principal (`admin`, the `crp` CLI and
the stack's own setup) is the broker's super user. Besides it only intake writes `api-clients` (its admin-only
`/v1/clients` routes create and revoke clients there). Each service reads and writes only its own topics and
groups; a housing system may only write `concern-inbound`.

Topics carry a deployment prefix (tests give each test its own): the ACLs name the prefixed topics
literally and the service's groups, transactional ids and Faust's internal topics by prefix
(`<prefix><service>`), so `grant(prefix)` is called for each prefix the topics are created for.
"""

import asyncio
import os
import secrets as random
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
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
from shared.kafka.config import SASL_MECHANISM, security_config

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


ANY_HOST = "*"


@dataclass(frozen=True)
class Acl:
    """One allow rule: `principal` may `operation` on the resource."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def binding(self) -> AclBinding:
        """The ACL binding the broker stores: allow `User:<principal>` from any host."""
        return AclBinding(
            ResourceType(int(self.resource)),
            self.name,
            ResourcePatternType(int(self.pattern)),
            f"User:{self.principal}",
            ANY_HOST,
            AclOperation(int(self.operation)),
            AclPermissionType.ALLOW,
        )


READS = (Operation.READ, Operation.DESCRIBE)
WRITES = (Operation.WRITE, Operation.DESCRIBE)

SERVICE_TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "intake": {
        "read": (CONCERN_INBOUND, REFERRAL_EVENTS, API_CLIENTS, REFERENCE_DATA),
        "write": (CONCERN_EVENTS, REFERENCE_DATA, API_CLIENTS, dlq(CONCERN_INBOUND), dlq(REFERRAL_EVENTS)),
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
"""The topics each service consumes (with `api-clients` and `reference-data` it follows) and produces to.

intake writes `api-clients` for its admin-only `/v1/clients` routes (an admin person creates and revokes clients
in the portal); no other service does."""

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


# -- credentials and ACLs through confluent-kafka's admin client (aiokafka's has no SCRAM or ACL calls) ---------

REQUEST_TIMEOUT_S = 15.0


class AclError(RuntimeError):
    """The broker refused an ACL or a credential change; the message says which."""


def _admin_config(bootstrap_servers: str) -> dict[str, Any]:
    """librdkafka's settings for this process's principal: the same credentials as every aiokafka client."""
    # log_level 4: librdkafka's warnings and errors on stderr, not its notices (a purged queue at every close).
    config: dict[str, Any] = {"bootstrap.servers": bootstrap_servers, "client.id": "crp-security", "log_level": 4}
    secure = security_config()
    if secure:
        config |= {
            "security.protocol": secure["security_protocol"],
            "sasl.mechanism": secure["sasl_mechanism"],
            "sasl.username": secure["sasl_plain_username"],
            "sasl.password": secure["sasl_plain_password"],
        }
        if os.environ.get("KAFKA_SSL_CAFILE"):
            config["ssl.ca.location"] = os.environ["KAFKA_SSL_CAFILE"]
    return config


def _failures(futures: dict[Any, Any]) -> dict[Any, str]:
    """Wait for each of an admin call's futures; what the broker said to each one it refused."""
    failed = {}
    for key, future in futures.items():
        try:
            future.result()
        except KafkaException as error:
            failed[key] = error.args[0].str() if error.args else str(error)
    return failed


def _set_passwords(bootstrap_servers: str, passwords: dict[str, str]) -> None:
    assert SASL_MECHANISM == "SCRAM-SHA-512"  # noqa: S101 - the mechanism below is SCRAM-SHA-512
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upsertions = [
        UserScramCredentialUpsertion(name, info, password.encode(), random.token_bytes(32))
        for name, password in passwords.items()
    ]
    admin = AdminClient(_admin_config(bootstrap_servers))
    futures = admin.alter_user_scram_credentials(upsertions, request_timeout=REQUEST_TIMEOUT_S)
    failed = [f"{user}: {message}" for user, message in _failures(futures).items()]
    if failed:
        raise AclError("setting Kafka credentials failed: " + "; ".join(failed))


def _create_acls(bootstrap_servers: str, acls: list[Acl]) -> None:
    admin = AdminClient(_admin_config(bootstrap_servers))
    bindings = [acl.binding() for acl in dict.fromkeys(acls)]
    failed = _failures(admin.create_acls(bindings, request_timeout=REQUEST_TIMEOUT_S)) if bindings else {}
    if failed:
        raise AclError("creating Kafka ACLs failed: " + "; ".join(sorted(set(failed.values()))))


async def set_passwords(bootstrap_servers: str, passwords: dict[str, str]) -> None:
    """Create or rotate the SCRAM credentials of `passwords`' principals (as this process's principal, the admin).

    The broker stores keys derived from a fresh 32-byte salt and SCRAM_ITERATIONS, never the password."""
    await asyncio.to_thread(_set_passwords, bootstrap_servers, passwords)


async def create_acls(bootstrap_servers: str, acls: list[Acl]) -> None:
    """Create the ACLs (an existing one is left as it is) as the admin principal."""
    await asyncio.to_thread(_create_acls, bootstrap_servers, acls)


async def grant(bootstrap_servers: str, prefix: str = "") -> None:
    """The platform's ACLs for the deployment (or test) with `prefix`."""
    await create_acls(bootstrap_servers, planned_acls(prefix))
