"""deploy/k8s rendered by the real kustomize (kubectl's), checked against Kubernetes' schemas and the code's facts."""

import copy
import re
from collections import defaultdict

import jsonschema
import kubernetes_validate
import pytest

from services.intake.settings import IntakeSettings
from services.notify.entrypoints.consumers import TOPICS as NOTIFY_TOPICS
from services.notify.settings import NotifySettings
from services.routing.settings import RoutingSettings
from services.stats.settings import StatsSettings
from shared.contracts.topics import CONCERN_EVENTS, CONCERN_INBOUND, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.kafka import security
from shared.kafka.admin import planned_topics
from tests.support.deploy_files import K8S, ROOT, SERVICES, render, schema_validator

pytestmark = pytest.mark.unit
SETTINGS = {"intake": IntakeSettings, "routing": RoutingSettings, "notify": NotifySettings, "stats": StatsSettings}
# The topics each service's scaled consumer group reads (intake: its concern-inbound consumer).
CONSUMED = {
    "intake": {CONCERN_INBOUND},
    "routing": {CONCERN_EVENTS},
    "notify": set(NOTIFY_TOPICS),
    "stats": {CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS},
}
OVERLAYS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
CRD_SCHEMAS = {"KafkaTopic": "strimzi-kafkatopic.schema.json", "ScaledObject": "keda-scaledobject.schema.json"}
NO_SCHEMA = {"KafkaUser"}  # held to shared/kafka/security.py below instead of a CRD schema
IMAGE_ENV = {"F_DATADIR", "PYTHONUNBUFFERED", "BROKER_SESSION_TIMEOUT"}  # read by the image and by Faust
DUMMY_SECRETS = {
    "DATABASE_URL": "postgresql://svc:pw@db:5432/svc",
    "SUBJECT_KEY_SECRET": "subject-key-secret-0123456789",
    "MASTER_KEY": "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
    "INTAKE_TOKEN": "token",
    "SMTP_USERNAME": "user",
    "SMTP_PASSWORD": "password",
    "KAFKA_PASSWORD": "kafka-password",
}


@pytest.fixture(scope="module", params=list(OVERLAYS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict]]:
    return request.param, render(OVERLAYS[request.param])


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return render(OVERLAYS["production"])


def by_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def production_group(service: str) -> str:
    """The Kafka group a service's workers join in production (no topic prefix), as the code computes it."""
    secrets = {"subject_key_secret": DUMMY_SECRETS["SUBJECT_KEY_SECRET"], "master_key": DUMMY_SECRETS["MASTER_KEY"]}
    settings = SETTINGS[service](database_url=DUMMY_SECRETS["DATABASE_URL"], **secrets)
    return settings.kafka_group()


@pytest.mark.parametrize("version", ["1.30", "1.37"])
def test_every_builtin_resource_validates_strictly_against_kubernetes(rendered, version: str) -> None:
    _, resources = rendered
    builtin = [r for r in resources if r["kind"] not in CRD_SCHEMAS and r["kind"] not in NO_SCHEMA]
    assert {r["kind"] for r in builtin} >= {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"}
    for resource in builtin:
        kubernetes_validate.validate(resource, version, strict=True)


def test_strict_kubernetes_validation_refuses_a_misplaced_field(production: list[dict]) -> None:
    deployment = copy.deepcopy(by_kind(production, "Deployment")["routing"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.37", strict=True)


def test_custom_resources_validate_against_their_crd_schemas(rendered) -> None:
    _, resources = rendered
    custom = [r for r in resources if r["kind"] in CRD_SCHEMAS]
    assert {r["kind"] for r in custom} == set(CRD_SCHEMAS)
    for resource in custom:
        schema_validator(CRD_SCHEMAS[resource["kind"]]).validate(resource)


@pytest.mark.parametrize(
    ("kind", "name", "mutate"),
    [
        ("KafkaTopic", "concern-events", lambda r: r["spec"].update(replicas=0)),
        ("KafkaTopic", "concern-events", lambda r: r["spec"].update(partition=6)),
        ("KafkaTopic", "concern-events", lambda r: r["metadata"]["labels"].pop("strimzi.io/cluster")),
        ("ScaledObject", "routing", lambda r: r["spec"]["triggers"][0]["metadata"].pop("consumerGroup")),
        ("ScaledObject", "routing", lambda r: r["spec"]["triggers"][0]["metadata"].update(lagThreshold=500)),
        ("ScaledObject", "routing", lambda r: r["spec"].update(maxReplicas=3)),
    ],
)
def test_the_crd_schemas_refuse_mistakes(production: list[dict], kind: str, name: str, mutate) -> None:
    resource = copy.deepcopy(by_kind(production, kind)[name])
    mutate(resource)
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(CRD_SCHEMAS[kind]).validate(resource)


def test_no_secret_values_are_in_the_manifests(rendered) -> None:
    _, resources = rendered
    assert not [r for r in resources if r["kind"] == "Secret"]
    for config in by_kind(resources, "ConfigMap").values():
        assert not [k for k in config["data"] if re.search("SECRET|PASSWORD|TOKEN|MASTER_KEY|DATABASE_URL", k)]


def test_the_topics_are_the_platforms_with_three_replicas_and_two_in_sync(rendered) -> None:
    name, resources = rendered
    topics = {t["spec"]["topicName"]: t["spec"] for t in by_kind(resources, "KafkaTopic").values()}
    planned = {t.name: t for t in planned_topics(partitions=12 if name == "production" else 6, replication_factor=3)}
    assert set(topics) == set(planned)
    for topic, spec in topics.items():
        assert spec["replicas"] == 3
        assert spec["partitions"] == planned[topic].num_partitions
        assert {k: str(v) for k, v in spec["config"].items()} == planned[topic].topic_configs
    assert topics["api-clients"]["config"]["cleanup.policy"] == "compact"
    assert topics["reference-data"]["config"]["cleanup.policy"] == "compact"
    assert topics["concern-events.dlq"]["config"]["min.insync.replicas"] == 2


@pytest.mark.parametrize("service", SERVICES)
def test_each_worker_scales_on_the_lag_of_its_real_consumer_group(rendered, service: str) -> None:
    _, resources = rendered
    scaled = by_kind(resources, "ScaledObject")[service]
    assert scaled["spec"]["scaleTargetRef"]["name"] in by_kind(resources, "Deployment")
    kafka = [t for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]
    assert {t["metadata"]["consumerGroup"] for t in kafka} == {production_group(service)} == {f"{service}-service"}
    assert {t["metadata"]["topic"] for t in kafka} == CONSUMED[service]
    assert all(int(t["metadata"]["lagThreshold"]) > 0 for t in kafka)
    bootstrap = by_kind(resources, "ConfigMap")["platform-config"]["data"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert {t["metadata"]["bootstrapServers"] for t in kafka} == {bootstrap}
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in by_kind(resources, "KafkaTopic").values()}
    assert scaled["spec"]["minReplicaCount"] >= 2, "one worker is a single point of failure"
    assert scaled["spec"]["maxReplicaCount"] <= min(partitions[t] for t in CONSUMED[service]), "idle workers"


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_probes_runs_unprivileged_and_is_sized(rendered, service: str) -> None:
    name, resources = rendered
    deployment = by_kind(resources, "Deployment")[service]
    pod = deployment["spec"]["template"]["spec"]
    port = SETTINGS[service].model_fields["http_port"].default
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    main = next(c for c in pod["containers"] if c["name"] == service)
    assert main["command"] == ["python", "-m", f"services.{service}"]
    assert main["ports"] == [{"name": "http", "containerPort": port}]
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    migrate = next(c for c in pod["initContainers"] if c["name"] == "migrate")
    assert migrate["command"] == ["crp", "migrate", service] and migrate["image"] == main["image"]
    for container in pod["containers"] + pod["initContainers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and container["resources"]["limits"][
            "memory"
        ]
        image = container["image"]
        assert re.search(r":[0-9][\w.-]*$|@sha256:", image) and not image.endswith(":latest")
        if name == "production":
            assert image.startswith("registry.example.dk/concern-platform:")
    mounts = {m["mountPath"] for m in main["volumeMounts"]}
    assert {"/tmp", "/var/lib/crp"} <= mounts  # noqa: S108 - mount paths, not files we write, "the read-only root filesystem needs /tmp and Faust's data directory"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_and_disruption_budget_select_the_deployments_pods(rendered, service: str) -> None:
    _, resources = rendered
    labels = by_kind(resources, "Deployment")[service]["spec"]["template"]["metadata"]["labels"]
    svc = by_kind(resources, "Service")[service]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    pdb = by_kind(resources, "PodDisruptionBudget")[service]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployments_environment_is_valid_for_its_settings(
    rendered, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, resources = rendered
    configs = by_kind(resources, "ConfigMap")
    main = next(c for c in by_kind(resources, "Deployment")[service]["spec"]["template"]["spec"]["containers"])
    environment: dict[str, str] = {}
    for source in main["envFrom"]:
        environment |= configs[source["configMapRef"]["name"]]["data"]
    for variable in main["env"]:
        if "value" in variable:  # not a secret (its Kafka username)
            environment[variable["name"]] = variable["value"]
            continue
        reference = variable["valueFrom"]["secretKeyRef"]
        assert reference["name"] in ("platform-secrets", f"{service}-db", f"{service}-secrets", service)
        environment[variable["name"]] = DUMMY_SECRETS[variable["name"]]
    fields = {name.upper() for name in SETTINGS[service].model_fields}
    assert set(environment) - fields - IMAGE_ENV == set(), "variables the service does not read (typos?)"
    for field in fields:  # only what the manifests say counts, not the environment of the test run
        monkeypatch.delenv(field, raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = SETTINGS[service](_env_file=None)
    assert settings.service_name == service and settings.environment == "production"
    assert settings.topic_replication_factor == 3 and settings.topic_prefix == ""


def _sizing_table() -> dict[str, dict[str, str]]:
    """The "Sizing" table of docs/operations.md, by service."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Sizing", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|") and not re.fullmatch(r"[|\- ]+", line)]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[1:]:
        cells = [cell.strip().strip("`") for cell in row.strip("|").split("|")]
        table[cells[0]] = dict(zip(header, cells, strict=True))
    return table


def test_the_production_overlay_matches_the_sizing_in_the_operations_guide(production: list[dict]) -> None:
    table = _sizing_table()
    deployments, scaled = by_kind(production, "Deployment"), by_kind(production, "ScaledObject")
    found = defaultdict(dict)
    for service in SERVICES:
        container = deployments[service]["spec"]["template"]["spec"]["containers"][0]
        found[service] = {
            "service": service,
            "replicas (min–max)": "{minReplicaCount}–{maxReplicaCount}".format(**scaled[service]["spec"]),
            "CPU request": str(container["resources"]["requests"]["cpu"]),
            "memory request": container["resources"]["requests"]["memory"],
            "memory limit": container["resources"]["limits"]["memory"],
        }
        assert {k: table[service][k] for k in found[service]} == found[service]
        assert deployments[service]["spec"]["replicas"] == scaled[service]["spec"]["minReplicaCount"]


def test_the_production_namespace_enforces_the_restricted_pod_security_profile(production: list[dict]) -> None:
    namespace = by_kind(production, "Namespace")["concern-platform"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(r["metadata"].get("namespace") == "concern-platform" for r in production if r["kind"] != "Namespace")


def test_stats_faust_worker_takes_its_session_timeout_from_the_manifest(
    production: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.kafka.streams import make_stream_app

    timeout = by_kind(production, "ConfigMap")["stats-config"]["data"]["BROKER_SESSION_TIMEOUT"]
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", timeout)
    settings = StatsSettings(database_url=DUMMY_SECRETS["DATABASE_URL"], subject_key_secret="s" * 16)
    assert make_stream_app(settings).conf.broker_session_timeout == float(timeout) < 60


STRIMZI_RESOURCES = {"topic": 2, "group": 3, "cluster": 4, "transactionalId": 5}
STRIMZI_OPERATIONS = {"Read": 3, "Write": 4, "Create": 5, "Describe": 8, "DescribeConfigs": 10}


def test_each_service_and_housing_system_has_a_kafka_user_with_the_acls_the_local_broker_enforces(rendered) -> None:
    _, resources = rendered
    users = by_kind(resources, "KafkaUser")
    assert set(users) == set(security.principals())
    for name, user in users.items():
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == "concern-platform"
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        acls = {
            security.Acl(
                name,
                security.Resource(STRIMZI_RESOURCES[acl["resource"]["type"]]),
                acl["resource"]["name"],
                security.Pattern[acl["resource"]["patternType"].upper()],
                security.Operation(STRIMZI_OPERATIONS[operation]),
            )
            for acl in user["spec"].get("authorization", {}).get("acls", [])
            for operation in acl["operations"]
        }
        assert acls == {acl for acl in security.planned_acls() if acl.principal == name}, name
    assert "authorization" not in users[security.ADMIN_PRINCIPAL]["spec"]  # a super user of the Kafka resource


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_authenticates_to_kafka_as_its_own_principal(rendered, service: str) -> None:
    _, resources = rendered
    config = by_kind(resources, "ConfigMap")["platform-config"]["data"]
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and config["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    main = next(c for c in by_kind(resources, "Deployment")[service]["spec"]["template"]["spec"]["containers"])
    env = {e["name"]: e for e in main["env"]}
    assert env["KAFKA_USERNAME"]["value"] == service
    assert env["KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": service, "key": "password"}
