"""A broker of its own with SASL/SCRAM and ACLs, as `deploy.stack up --kafka-sasl` runs it (for the security tests).

It is started from the same templates, jars and format step as the stack's broker, on free ports in a temporary
home, and stopped at the end. Clients pick their principal explicitly (`credentials(principal)`): the test
process's environment is never switched, so other fixtures keep talking to the test stack as before.
"""

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from deploy import broker, jars, stack_secrets
from deploy.config import StackConfig
from deploy.java import find_java
from shared.kafka import security
from shared.kafka.config import security_config

START_TIMEOUT_S = 120


def _free_port_pair() -> int:
    """A port p with p + 1 free too (the broker and its controller)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two adjacent free ports")


@dataclass
class SaslBroker:
    """A running SASL broker: its address and every principal's password."""

    cfg: StackConfig
    secrets: dict[str, str]

    @property
    def bootstrap(self) -> str:
        """The SASL_PLAINTEXT listener."""
        return self.cfg.bootstrap_servers

    def env(self, principal: str, password: str | None = None) -> dict[str, str]:
        """The environment a client authenticating as `principal` runs with."""
        env = broker.client_env(self.cfg, self.secrets, principal)
        return env | ({"KAFKA_PASSWORD": password} if password is not None else {})

    def credentials(self, principal: str, password: str | None = None) -> dict[str, Any]:
        """aiokafka arguments for `principal` (or a wrong `password`)."""
        return {"bootstrap_servers": self.bootstrap, **security_config(self.env(principal, password))}

    @contextlib.contextmanager
    def acting_as(self, principal: str) -> Iterator[None]:
        """Run platform code that reads its credentials from the environment (ensure_topics, grant) as `principal`."""
        with mock.patch.dict(os.environ, self.env(principal)):
            yield


def _wait_ready(running: SaslBroker, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the SASL broker exited with {process.returncode}; see {running.cfg.log('kafka')}")
        try:
            with running.acting_as(security.ADMIN_PRINCIPAL):
                if broker.is_ready(running.cfg):
                    return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(1.0)
    raise AssertionError(f"the SASL broker was not ready within {START_TIMEOUT_S} s; see {running.cfg.log('kafka')}")


@contextlib.contextmanager
def sasl_broker(home: Path) -> Iterator[SaslBroker]:
    """Format and start a SASL broker in `home`, create every principal, stop it afterwards."""
    cfg = StackConfig(home=home, kafka_port=_free_port_pair(), partitions=1, kafka_sasl=True)
    cfg.logs.mkdir(parents=True, exist_ok=True)
    secrets = stack_secrets.load_or_create(cfg.secrets_file)
    java = find_java()
    libs = jars.fetch()
    broker.write_config(cfg, secrets)
    broker.format_storage(cfg, java, libs, secrets)
    env = os.environ | {"KAFKA_HEAP_OPTS": "-Xmx256m -Xms256m"}
    with cfg.log("kafka-console").open("ab") as console:
        command = broker.command(cfg, java, libs)
        process = subprocess.Popen(command, stdout=console, stderr=console, env=env)  # noqa: S603
    running = SaslBroker(cfg, secrets)
    try:
        _wait_ready(running, process)
        with running.acting_as(security.ADMIN_PRINCIPAL):
            broker.ensure_principals(cfg, secrets)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
