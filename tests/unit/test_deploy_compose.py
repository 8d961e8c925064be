"""docker-compose.yml without a container engine: the compose-spec schema, start order, settings, monitoring."""

import copy
import json
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import typer.main
import yaml

from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.routing.settings import RoutingSettings
from services.stats.settings import StatsSettings
from shared.cli import app as crp_app
from tests.support.deploy_files import (
    ROOT,
    SCHEMAS,
    SERVICES,
    MissingVariable,
    env_example,
    interpolate,
    schema_validator,
    variables,
)

pytestmark = pytest.mark.unit
COMPOSE_FILE = ROOT / "docker-compose.yml"
SETTINGS = {"intake": IntakeSettings, "routing": RoutingSettings, "notify": NotifySettings, "stats": StatsSettings}
# What the image sets, or Faust reads, outside the settings model.
IMAGE_ENV = {"F_DATADIR", "PYTHONUNBUFFERED", "BROKER_SESSION_TIMEOUT"}  # read by the image and by Faust
EXAMPLE_ENV = {
    "SUBJECT_KEY_SECRET": "example-subject-key-secret-0123456789",
    "MASTER_KEY": "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
    "POSTGRES_PASSWORD": "pg-password",
    "INTAKE_DB_PASSWORD": "intake-password",
    "ROUTING_DB_PASSWORD": "routing-password",
    "NOTIFY_DB_PASSWORD": "notify-password",
    "STATS_DB_PASSWORD": "stats-password",
    "GRAFANA_ADMIN_PASSWORD": "grafana-password",
    "SMTP_HOST": "smtp.example.dk",
}


def raw() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    """The compose file as `docker compose config` sees it with the example settings."""
    return interpolate(raw(), EXAMPLE_ENV)


def test_the_vendored_compose_schema_is_the_one_check_jsonschema_ships() -> None:
    import check_jsonschema

    shipped = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    assert json.loads((SCHEMAS / "compose-spec.json").read_text()) == json.loads(shipped.read_text())


def test_the_compose_file_validates_against_the_compose_spec(compose: dict) -> None:
    validator = schema_validator("compose-spec.json")
    for document in (raw(), compose):
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, errors


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("services", "intake", "depends_on", "init", "condition"), "service_finished"),
        (("services", "intake", "environment", "HTTP_PORT"), ["8001"]),
        (("services", "kafka", "restart_policy"), "always"),
    ],
)
def test_the_compose_schema_refuses_mistakes(compose: dict, path: tuple, bad: object) -> None:
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    with pytest.raises(jsonschema.ValidationError):
        schema_validator("compose-spec.json").validate(broken)


def test_every_required_secret_must_be_set_and_is_documented() -> None:
    used = variables(raw())
    documented = env_example()
    assert used >= set(EXAMPLE_ENV), "a required secret is no longer read"
    assert used <= set(documented), f"undocumented in .env.example: {used - set(documented)}"
    for name in EXAMPLE_ENV:
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw(), {k: v for k, v in EXAMPLE_ENV.items() if k != name})
    assert all(value == "" for name, value in documented.items() if name in EXAMPLE_ENV), "a secret in .env.example"


def test_no_secret_is_written_into_the_compose_file() -> None:
    for name, service in raw()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("SECRET", "PASSWORD", "MASTER_KEY", "TOKEN", "DATABASE_URL")):
                assert "${" in str(value), f"{name}.{key} is a literal, not taken from .env"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_from_the_one_image_by_command(compose: dict, service: str) -> None:
    spec = compose["services"][service]
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert spec["image"] == compose["services"]["init"]["image"]
    assert spec["build"]["dockerfile"] == "Dockerfile"
    assert spec["read_only"] is True and spec["cap_drop"] == ["ALL"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_starts_after_init_and_is_healthy_when_ready(compose: dict, service: str) -> None:
    spec = compose["services"][service]
    assert spec["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    assert spec["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
    port = SETTINGS[service].model_fields["http_port"].default
    assert spec["environment"]["HTTP_PORT"] == str(port)
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(spec["healthcheck"]["test"])
    assert spec["ports"] == [f"127.0.0.1:{port}:{port}"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_environment_is_valid_for_its_settings(
    compose: dict, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = compose["services"][service]["environment"]
    fields = {name.upper() for name in SETTINGS[service].model_fields}
    assert set(environment) - fields - IMAGE_ENV == set(), "variables the service does not read (typos?)"
    for field in fields:  # only what the compose file says counts, not the environment of the test run
        monkeypatch.delenv(field, raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, str(value))
    settings = SETTINGS[service](_env_file=None)
    assert settings.service_name == service
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    url = urlsplit(settings.database_url.get_secret_value())
    assert (url.hostname, url.path, url.username) == ("postgres", f"/{service}", service)
    assert url.password == EXAMPLE_ENV[f"{service.upper()}_DB_PASSWORD"]


def test_postgres_gets_every_service_password_and_the_init_script(compose: dict) -> None:
    postgres = compose["services"]["postgres"]
    for service in SERVICES:
        variable = f"{service.upper()}_DB_PASSWORD"
        assert postgres["environment"][variable] == EXAMPLE_ENV[variable]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in postgres["volumes"] if v.startswith("./")}
    script = mounts["/docker-entrypoint-initdb.d/10-init-databases.sh"]
    assert (ROOT / script).is_file()
    assert postgres["image"].startswith("postgres:18.") and "-bookworm" in postgres["image"]


def _crp_commands(compose: dict) -> list[list[str]]:
    script = compose["services"]["init"]["command"][-1]
    return [shlex.split(line) for line in script.splitlines() if line.strip()]


def test_init_creates_the_topics_and_migrates_every_service(compose: dict) -> None:
    commands = _crp_commands(compose)
    assert commands[0][:3] == ["crp", "topics", "ensure"]
    migrated = {c[2]: c[c.index("--database-url") + 1] for c in commands if c[:2] == ["crp", "migrate"]}
    assert set(migrated) == set(SERVICES)
    environment = compose["services"]["init"]["environment"]
    for service, reference in migrated.items():
        url = urlsplit(environment[reference.strip("${}")])
        assert (url.path, url.username) == (f"/{service}", service)


def test_inits_commands_are_valid_crp_command_lines(compose: dict) -> None:
    environment = compose["services"]["init"]["environment"]
    for command in _crp_commands(compose):
        # The container's shell expands ${VAR} from init's environment before crp sees it.
        command_line_parses([environment[a[2:-1]] if a.startswith("${") else a for a in command])


def command_line_parses(command: list[str]) -> None:
    """Parse a `crp ...` line with the real CLI, without running it: a UsageError on an unknown option or argument."""
    cli, args = typer.main.get_command(crp_app), command[1:]
    while hasattr(cli, "commands"):  # a group (typer ships its own copy of click, so no isinstance)
        assert args and args[0] in cli.commands, f"crp has no command {args[:1]}"
        cli, args = cli.commands[args[0]], args[1:]
    cli.make_context(command[0], args)


def test_a_wrong_crp_command_line_is_caught() -> None:
    with pytest.raises(Exception, match="No such option: --database-uri"):
        command_line_parses(["crp", "migrate", "intake", "--database-uri", "postgresql://x"])
    with pytest.raises(Exception, match="Missing parameter: service"):
        command_line_parses(["crp", "migrate", "--database-url", "postgresql://x"])
    with pytest.raises(AssertionError):
        command_line_parses(["crp", "topic", "ensure"])


def test_kafka_is_the_official_image_in_kraft_mode_with_topics_created_explicitly(compose: dict) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.2"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"


def test_prometheus_scrapes_every_service_on_its_port(compose: dict) -> None:
    prometheus = compose["services"]["prometheus"]
    mount = next(v for v in prometheus["volumes"] if v.endswith("/etc/prometheus/prometheus.yml:ro"))
    config = yaml.safe_load((ROOT / mount.split(":")[0]).read_text())
    scraped = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for name in sd["names"]:
                scraped[name] = sd["port"]
    assert scraped == {s: SETTINGS[s].model_fields["http_port"].default for s in SERVICES}
    assert all(s in compose["services"] for s in scraped)


def test_prometheus_loads_the_one_set_of_alert_rules_the_local_stack_and_promtool_use(compose: dict) -> None:
    prometheus = compose["services"]["prometheus"]
    mount = next(v for v in prometheus["volumes"] if v.endswith("/etc/prometheus/prometheus.yml:ro"))
    config = yaml.safe_load((ROOT / mount.split(":")[0]).read_text())
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in prometheus["volumes"] if v.startswith("./"))
    rules_dir = next(inside for outside, inside in mounts.items() if outside.rstrip("/") == "./deploy/prometheus/rules")
    assert config["rule_files"] == [f"{rules_dir}/*.yml"]
    assert list((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml")), "no rule files to load"


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboards_folder(compose: dict) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")}
    assert mounts["/var/lib/grafana/dashboards/platform"] == "./deploy/grafana"
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090" and datasource["uid"] == "prometheus"
    provider = yaml.safe_load((provisioning / "dashboards" / "platform.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/platform"


def test_the_image_healthcheck_and_compose_agree_on_the_port_variable(compose: dict) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HTTP_PORT" in dockerfile.split("HEALTHCHECK", 1)[1]
    assert all("HTTP_PORT" in compose["services"][s]["environment"] for s in SERVICES)
