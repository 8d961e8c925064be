"""Prometheus and Alertmanager of a local stack: Debian's packages, run by the stack's supervisord.

Prometheus scrapes every service's /metrics (each target labelled `service`) and evaluates the alert rules of
deploy/prometheus/rules; Alertmanager sends what fires by e-mail to the stack's SMTP sink. Ports: Prometheus at
base port + 1090 and Alertmanager at base port + 1095 (9090 and 9095 for `make up`; 9093 is Kafka's controller).
"""

import shutil
from pathlib import Path

import httpx
import yaml

from deploy.config import REPO, SERVICES, StackConfig, StackError, write_private
from deploy.supervisor_conf import Program

RULES = REPO / "deploy" / "prometheus" / "rules"
PROGRAMS = ("alertmanager", "prometheus")
SCRAPE_INTERVAL = "5s"
"""Short, so an alert's `for` is what decides how soon it fires on this machine (15 s on the cluster)."""
ALERT_FROM = "alertmanager@bekymring.local"
ALERT_TO = "driften@bekymring.local"
DEBIAN_PACKAGES = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}


def prometheus_port(cfg: StackConfig) -> int:
    """Prometheus's HTTP port: base port + 1090 (9090 by default)."""
    return cfg.base_port + 1090


def alertmanager_port(cfg: StackConfig) -> int:
    """Alertmanager's HTTP port: base port + 1095 (9095 by default)."""
    return cfg.base_port + 1095


def prometheus_url(cfg: StackConfig) -> str:
    """Prometheus's address."""
    return f"http://127.0.0.1:{prometheus_port(cfg)}"


def alertmanager_url(cfg: StackConfig) -> str:
    """Alertmanager's address."""
    return f"http://127.0.0.1:{alertmanager_port(cfg)}"


def _home(cfg: StackConfig) -> Path:
    return cfg.home / "monitoring"


def _binary(program: str) -> str:
    """The Debian package's executable, or a StackError saying how to install it."""
    name = "prometheus" if program == "prometheus" else "prometheus-alertmanager"
    found = shutil.which(name)
    if not found:
        raise StackError(
            f"{name} is not installed: `make monitoring-deps` installs Debian's {DEBIAN_PACKAGES[program]} package"
        )
    return found


def prometheus_config(cfg: StackConfig) -> dict:
    """prometheus.yml: one job per service (the `service` label is the job), the rules and the Alertmanager."""
    jobs = [
        {
            "job_name": service,
            "static_configs": [{"targets": [f"127.0.0.1:{cfg.service_port(service)}"], "labels": {"service": service}}],
        }
        for service in SERVICES
    ]
    jobs.append(
        {
            "job_name": "prometheus",
            "static_configs": [{"targets": [f"127.0.0.1:{prometheus_port(cfg)}"], "labels": {"service": "prometheus"}}],
        }
    )
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(RULES / "*.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port(cfg)}"]}]}]},
        "scrape_configs": jobs,
    }


def alertmanager_config(cfg: StackConfig) -> dict:
    """alertmanager.yml: every alert by e-mail to the ops mailbox through the stack's SMTP sink, in Danish first."""
    text = (
        "{{ range .Alerts }}{{ .Annotations.summary_da }}\n{{ .Annotations.summary }}\n"
        "Alvorlighed / severity: {{ .Labels.severity }}\n"
        "Vejledning / runbook: {{ .Annotations.runbook_url }}\n"
        "Siden / since: {{ .StartsAt }}\n\n{{ end }}"
    )
    return {
        "global": {
            "smtp_smarthost": f"127.0.0.1:{cfg.smtp_port}",
            "smtp_from": ALERT_FROM,
            "smtp_require_tls": False,
        },
        "route": {
            "receiver": "driften",
            "group_by": ["alertname", "service"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "driften",
                "email_configs": [
                    {
                        "to": ALERT_TO,
                        "send_resolved": True,
                        "headers": {
                            "Subject": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}"
                            " {{ .CommonLabels.service }} ({{ .CommonLabels.severity }})"
                        },
                        "text": text,
                    }
                ],
            }
        ],
    }


def write_configs(cfg: StackConfig) -> None:
    """Write both configuration files into <home>/monitoring (private: they name the stack's addresses)."""
    home = _home(cfg)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(home / "prometheus.yml", yaml.safe_dump(prometheus_config(cfg), sort_keys=False))
    write_private(home / "alertmanager.yml", yaml.safe_dump(alertmanager_config(cfg), sort_keys=False))


def programs(cfg: StackConfig) -> list[Program]:
    """The two supervised programs; started after the services by `up`."""
    home = _home(cfg)
    prometheus = [
        _binary("prometheus"),
        f"--config.file={home / 'prometheus.yml'}",
        f"--storage.tsdb.path={home / 'prometheus-data'}",
        "--storage.tsdb.retention.time=7d",
        f"--web.listen-address=127.0.0.1:{prometheus_port(cfg)}",
        "--web.enable-lifecycle",
    ]
    alertmanager = [
        _binary("alertmanager"),
        f"--config.file={home / 'alertmanager.yml'}",
        f"--storage.path={home / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{alertmanager_port(cfg)}",
        "--cluster.listen-address=",  # one instance: no gossip port
    ]
    return [
        Program("alertmanager", alertmanager, cfg.log("alertmanager"), autostart=False),
        Program("prometheus", prometheus, cfg.log("prometheus"), autostart=False),
    ]


def is_ready(cfg: StackConfig) -> bool:
    """True when both answer their /-/ready."""
    for url in (prometheus_url(cfg), alertmanager_url(cfg)):
        try:
            if httpx.get(f"{url}/-/ready", timeout=3).status_code != 200:
                return False
        except httpx.HTTPError:
            return False
    return True
