"""The Kafka broker: a single KRaft node run as a plain JVM process from the cached jars."""

import asyncio
import base64
import logging
import os
import shlex
import subprocess
import time
import uuid
from dataclasses import replace
from pathlib import Path
from string import Template
from unittest import mock

from aiokafka.admin import AIOKafkaAdminClient

from deploy.config import StackConfig, StackError, write_private
from shared.kafka import security
from shared.kafka.config import SASL_MECHANISM, client_config

TEMPLATES = Path(__file__).parent / "kafka"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
DEFAULT_HEAP = "-Xmx768m -Xms768m"
JVM_OPTS = (
    "-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 "
    "-XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true"
)


def kafka_dir(cfg: StackConfig) -> Path:
    """The broker's config and data."""
    return cfg.home / "kafka"


def data_dir(cfg: StackConfig) -> Path:
    """The broker's log dir (its topics' data and KRaft metadata)."""
    return kafka_dir(cfg) / "data"


def _render(template: str, **values: object) -> str:
    """Fill a template from deploy/kafka/."""
    return Template((TEMPLATES / template).read_text()).substitute(values)


SASL_MARKER = "sasl-formatted"
"""In the data dir: the log dir was formatted with the admin principal's SCRAM credentials."""


CLIENT_ENV = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_USERNAME", "KAFKA_PASSWORD")
"""The variables a Kafka client of the platform authenticates with (shared/kafka/config.py)."""


def client_env(cfg: StackConfig, secrets: dict[str, str], principal: str) -> dict[str, str]:
    """The environment a Kafka client of this stack authenticates with as `principal` (empty without SASL)."""
    if not cfg.kafka_sasl:
        return {}
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
        "KAFKA_USERNAME": principal,
        "KAFKA_PASSWORD": secrets[password_key(principal)],
    }


def password_key(principal: str) -> str:
    """Where secrets.json keeps the Kafka password of `principal`."""
    return f"kafka_{principal}_password"


def write_config(cfg: StackConfig, secrets: dict[str, str] | None = None) -> None:
    """Render server.properties (0600: it holds the broker's own credentials) and the log4j2 configuration."""
    kafka_dir(cfg).mkdir(parents=True, exist_ok=True)
    cfg.logs.mkdir(parents=True, exist_ok=True)
    ports = {"kafka_port": cfg.kafka_port, "controller_port": cfg.controller_port}
    if cfg.kafka_sasl:
        assert secrets is not None  # noqa: S101 - a SASL broker needs its principals' passwords
        listeners = _render(
            "listeners-sasl.template",
            **ports,
            admin_user=security.ADMIN_PRINCIPAL,
            admin_password=secrets[password_key(security.ADMIN_PRINCIPAL)],
            controller_user=security.CONTROLLER_PRINCIPAL,
            controller_password=secrets[password_key(security.CONTROLLER_PRINCIPAL)],
        )
    else:
        listeners = _render("listeners-plaintext.template", **ports)
    properties = _render(
        "server.properties.template",
        listeners=listeners.strip(),
        data_dir=data_dir(cfg),
        partitions=cfg.partitions,
        **ports,
    )
    write_private(kafka_dir(cfg) / "server.properties", properties)
    log4j = _render("log4j2.properties.template", log_file=cfg.log("kafka"))
    (kafka_dir(cfg) / "log4j2.properties").write_text(log4j)


def _java_command(cfg: StackConfig, java: str, libs: Path, heap: str, main: str, *args: str) -> list[str]:
    """A java command line running `main` with the broker's classpath and logging."""
    log4j = f"-Dlog4j2.configurationFile={kafka_dir(cfg) / 'log4j2.properties'}"
    return [java, *shlex.split(heap), *shlex.split(JVM_OPTS), log4j, "-cp", f"{libs}/*", main, *args]


def command(cfg: StackConfig, java: str, libs: Path) -> list[str]:
    """The broker's command line, as supervisord runs it."""
    heap = os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP)
    return _java_command(cfg, java, libs, heap, MAIN_CLASS, str(kafka_dir(cfg) / "server.properties"))


def format_storage(cfg: StackConfig, java: str, libs: Path, secrets: dict[str, str] | None = None) -> bool:
    """Format the KRaft log dir once (skipped when meta.properties exists); True if it formatted now.

    With SASL the admin principal's SCRAM credentials go into the metadata at format time: the broker's
    own connections and the first admin requests (the other principals, the ACLs) authenticate with them.
    """
    marker = data_dir(cfg) / SASL_MARKER
    if (data_dir(cfg) / "meta.properties").exists():
        if cfg.kafka_sasl and not marker.exists():
            assert secrets is not None  # noqa: S101
            _add_admin_credentials(cfg, java, libs, secrets)
            marker.write_text("SCRAM-SHA-512 credentials of the admin principal added to a plaintext broker\n")
        return False
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    config = str(kafka_dir(cfg) / "server.properties")
    args = ["format", "-t", cluster_id, "-c", config]
    if cfg.kafka_sasl:
        assert secrets is not None  # noqa: S101
        admin = security.ADMIN_PRINCIPAL
        args += ["--add-scram", f"{SASL_MECHANISM}=[name={admin},password={secrets[password_key(admin)]}]"]
    cmd = _java_command(cfg, java, libs, "-Xmx256m", STORAGE_TOOL, *args)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # noqa: S603
    if result.returncode != 0:
        raise StackError(f"formatting Kafka storage failed: {result.stderr.strip() or result.stdout.strip()}")
    if cfg.kafka_sasl:
        marker.write_text("SCRAM-SHA-512 credentials of the admin principal added at format time\n")
    return True


MIGRATION_TIMEOUT_S = 90


def _add_admin_credentials(cfg: StackConfig, java: str, libs: Path, secrets: dict[str, str]) -> None:
    """A broker formatted without SASL: start it once as it was (plaintext, no authorizer, only on this
    machine, for the seconds this takes), give the admin principal its SCRAM credentials, stop it. Its topics
    stay; from now on it starts with SASL and ACLs."""
    plaintext = replace(cfg, kafka_sasl=False)
    config = kafka_dir(cfg) / "server-plaintext-once.properties"
    listeners = _render("listeners-plaintext.template", kafka_port=cfg.kafka_port, controller_port=cfg.controller_port)
    properties = _render(
        "server.properties.template",
        listeners=listeners.strip(),
        data_dir=data_dir(cfg),
        partitions=cfg.partitions,
        kafka_port=cfg.kafka_port,
        controller_port=cfg.controller_port,
    )
    write_private(config, properties)
    cmd = _java_command(cfg, java, libs, "-Xmx384m -Xms384m", MAIN_CLASS, str(config))
    with cfg.log("kafka-console").open("ab") as console:
        process = subprocess.Popen(cmd, stdout=console, stderr=console)  # noqa: S603
    plain_env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV}
    try:
        with mock.patch.dict(os.environ, plain_env, clear=True):
            deadline = time.monotonic() + MIGRATION_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise StackError(f"the broker exited while its credentials were added; see {cfg.log('kafka')}")
                try:
                    if is_ready(plaintext):
                        break
                except Exception:  # noqa: BLE001 - still starting
                    if time.monotonic() > deadline:
                        raise StackError(
                            f"the broker did not start to add credentials; see {cfg.log('kafka')}"
                        ) from None
                    time.sleep(1.0)
            admin = security.ADMIN_PRINCIPAL
            asyncio.run(security.set_passwords(cfg.bootstrap_servers, {admin: secrets[password_key(admin)]}))
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        config.unlink(missing_ok=True)


def ensure_principals(cfg: StackConfig, secrets: dict[str, str]) -> None:
    """Every principal's SCRAM credentials (from secrets.json: rotating one there and `up` rotates it) and ACLs."""
    if not cfg.kafka_sasl:
        return
    passwords = {p: secrets[password_key(p)] for p in security.principals()}
    asyncio.run(security.set_passwords(cfg.bootstrap_servers, passwords))
    asyncio.run(security.grant(cfg.bootstrap_servers))


async def _list_topics(bootstrap: str) -> list[str]:
    """The broker's topics, via a short-lived admin client."""
    admin = AIOKafkaAdminClient(**client_config(bootstrap, request_timeout_ms=5000))
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


def is_ready(cfg: StackConfig) -> bool:
    """True when the broker answers a metadata request."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # "unable to connect" is expected while it starts
    asyncio.run(asyncio.wait_for(_list_topics(cfg.bootstrap_servers), timeout=10))
    return True
