"""Every Kafka client's credentials come from one place, and a SASL setting without them is refused, not ignored."""

import pytest

from deploy import broker
from deploy.config import StackConfig
from shared.kafka import security
from shared.kafka.config import client_config, security_config

pytestmark = pytest.mark.unit


def test_without_a_security_protocol_clients_connect_in_plaintext() -> None:
    assert security_config({}) == {}
    assert security_config({"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "KAFKA_USERNAME": "intake"}) == {}


def test_sasl_gives_every_client_the_principal_of_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "KAFKA_USERNAME": "routing", "KAFKA_PASSWORD": "pw"}
    assert security_config(env) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "routing",
        "sasl_plain_password": "pw",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert client_config("b:9092", client_id="x")["sasl_plain_username"] == "routing"


@pytest.mark.parametrize(
    "env",
    [
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_USERNAME": "intake"},
        {"KAFKA_SECURITY_PROTOCOL": "SSL-ISH", "KAFKA_USERNAME": "intake", "KAFKA_PASSWORD": "pw"},
    ],
)
def test_a_sasl_setting_without_credentials_or_an_unknown_protocol_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="KAFKA_"):
        security_config(env)


def test_one_principal_per_service_and_per_housing_system_with_a_password_each(tmp_path) -> None:  # noqa: ANN001
    assert security.principals() == ["admin", "intake", "routing", "notify", "stats"] + [
        f"housing-{system}" for system in security.housing_systems()
    ]
    assert security.housing_systems() == ["beboerapp-b", "ejendomssystem-a"]
    from deploy import stack_secrets

    secrets = stack_secrets.load_or_create(tmp_path / "secrets.json")
    cfg = StackConfig(home=tmp_path, kafka_sasl=True)
    env = broker.client_env(cfg, secrets, "housing-beboerapp-b")
    assert env["KAFKA_USERNAME"] == "housing-beboerapp-b" and env["KAFKA_PASSWORD"]
    assert broker.client_env(StackConfig(home=tmp_path), secrets, "intake") == {}  # no SASL: no credentials


def test_no_service_but_intake_reads_concern_inbound_or_writes_the_token_registry() -> None:
    acls = security.planned_acls("p.")
    readers = {a.principal for a in acls if a.name == "p.concern-inbound" and a.operation is security.Operation.READ}
    assert readers == {"intake"}
    writers = {a.principal for a in acls if a.name == "p.api-clients" and a.operation is security.Operation.WRITE}
    assert writers == {"intake"}  # its admin-only /v1/clients routes; the admin principal is the super user
    housing = {a for a in acls if a.principal.startswith(security.HOUSING_PREFIX)}
    assert {(a.name, a.operation) for a in housing} == {
        ("p.concern-inbound", security.Operation.WRITE),
        ("p.concern-inbound", security.Operation.DESCRIBE),
    }


def test_the_credential_and_acl_calls_authenticate_as_the_same_principal(monkeypatch: pytest.MonkeyPatch) -> None:
    """librdkafka's settings (confluent-kafka's admin client) from the same environment as every aiokafka client."""
    for key in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_USERNAME", "KAFKA_PASSWORD", "KAFKA_SSL_CAFILE"):
        monkeypatch.delenv(key, raising=False)
    assert security._admin_config("b:9092") == {
        "bootstrap.servers": "b:9092",
        "client.id": "crp-security",
        "log_level": 4,
    }
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_USERNAME": "admin", "KAFKA_PASSWORD": "pw"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KAFKA_SSL_CAFILE", "/etc/ca.pem")
    monkeypatch.setattr("aiokafka.helpers.create_ssl_context", lambda cafile: object())
    config = security._admin_config("b:9093")
    assert {k: v for k, v in config.items() if k.startswith(("security", "sasl", "ssl"))} == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "admin",
        "sasl.password": "pw",
        "ssl.ca.location": "/etc/ca.pem",
    }


def test_an_acl_becomes_the_binding_kafka_stores_with_the_same_codes() -> None:
    from confluent_kafka.admin import AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    acl = security.Acl(
        "stats", security.Resource.TOPIC, "p.stats", security.Pattern.PREFIXED, security.Operation.DESCRIBE_CONFIGS
    )
    binding = acl.binding()
    assert (binding.restype, binding.name, binding.resource_pattern_type) == (
        ResourceType.TOPIC, "p.stats", ResourcePatternType.PREFIXED,
    )  # fmt: skip
    assert (binding.principal, binding.host, binding.operation, binding.permission_type) == (
        "User:stats", "*", AclOperation.DESCRIBE_CONFIGS, AclPermissionType.ALLOW,
    )  # fmt: skip
    transactional = security.Acl(
        "routing", security.Resource.TRANSACTIONAL_ID, "routing", security.Pattern.LITERAL, security.Operation.WRITE
    )
    assert transactional.binding().restype == ResourceType.TRANSACTIONAL_ID


@pytest.mark.parametrize("sasl", [True, False])
def test_the_local_broker_never_creates_a_topic_a_client_asks_about(tmp_path, sasl: bool) -> None:  # noqa: ANN001
    """partitions_of asks by name through the admin client's metadata call, which allows creation where the
    broker does: the broker must not."""
    cfg = StackConfig(home=tmp_path, kafka_sasl=sasl)
    secrets = {broker.password_key(p): "pw" for p in (security.ADMIN_PRINCIPAL, security.CONTROLLER_PRINCIPAL)}
    broker.write_config(cfg, secrets)
    lines = (broker.kafka_dir(cfg) / "server.properties").read_text().splitlines()
    assert "auto.create.topics.enable=false" in lines
