"""The Kafka broker: a single KRaft node run as a plain JVM process from the cached jars."""

import asyncio
import base64
import logging
import os
import shlex
import subprocess
import uuid
from pathlib import Path
from string import Template

from aiokafka.admin import AIOKafkaAdminClient

from deploy.config import StackConfig, StackError

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


def _render(template: str, target: Path, **values: object) -> None:
    """Fill a template from deploy/kafka/ into `target`."""
    text = Template((TEMPLATES / template).read_text()).substitute(values)
    target.write_text(text)


def write_config(cfg: StackConfig) -> None:
    """Render server.properties and the log4j2 configuration for this stack."""
    kafka_dir(cfg).mkdir(parents=True, exist_ok=True)
    cfg.logs.mkdir(parents=True, exist_ok=True)
    _render(
        "server.properties.template",
        kafka_dir(cfg) / "server.properties",
        kafka_port=cfg.kafka_port,
        controller_port=cfg.controller_port,
        data_dir=data_dir(cfg),
        partitions=cfg.partitions,
    )
    _render("log4j2.properties.template", kafka_dir(cfg) / "log4j2.properties", log_file=cfg.log("kafka"))


def _java_command(cfg: StackConfig, java: str, libs: Path, heap: str, main: str, *args: str) -> list[str]:
    """A java command line running `main` with the broker's classpath and logging."""
    log4j = f"-Dlog4j2.configurationFile={kafka_dir(cfg) / 'log4j2.properties'}"
    return [java, *shlex.split(heap), *shlex.split(JVM_OPTS), log4j, "-cp", f"{libs}/*", main, *args]


def command(cfg: StackConfig, java: str, libs: Path) -> list[str]:
    """The broker's command line, as supervisord runs it."""
    heap = os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP)
    return _java_command(cfg, java, libs, heap, MAIN_CLASS, str(kafka_dir(cfg) / "server.properties"))


def format_storage(cfg: StackConfig, java: str, libs: Path) -> bool:
    """Format the KRaft log dir once (skipped when meta.properties exists); True if it formatted now."""
    if (data_dir(cfg) / "meta.properties").exists():
        return False
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    config = str(kafka_dir(cfg) / "server.properties")
    cmd = _java_command(cfg, java, libs, "-Xmx256m", STORAGE_TOOL, "format", "-t", cluster_id, "-c", config)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # noqa: S603
    if result.returncode != 0:
        raise StackError(f"formatting Kafka storage failed: {result.stderr.strip() or result.stdout.strip()}")
    return True


async def _list_topics(bootstrap: str) -> list[str]:
    """The broker's topics, via a short-lived admin client."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
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
