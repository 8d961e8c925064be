"""The alert rules: valid for Prometheus, tested with synthetic series, and each one something a person can act on.

`promtool` comes with Debian's prometheus package (`make monitoring-deps`, which `make test` runs first).
"""

import re
import shutil
import subprocess

import pytest
import yaml

from deploy import monitoring
from deploy.config import REPO, StackConfig

pytestmark = pytest.mark.unit

RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
TESTS = sorted((REPO / "deploy" / "prometheus" / "tests").glob("*.yml"))
OPERATIONS = REPO / "docs" / "operations.md"
SEVERITIES = {"critical", "warning"}
DANISH = re.compile(r"[æøå]|\b(ikke|er|til|kan|af|og|med|gange|sine|fristen|henvisning|svarer)\b", re.IGNORECASE)


def _alerts() -> list[dict]:
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make monitoring-deps` (Debian's prometheus package)"
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=REPO, timeout=120)  # noqa: S603


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_promtool_accepts_the_rules() -> None:
    result = _promtool("check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    result = _promtool("test", "rules", *map(str, TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_issue_s_alerts_exist() -> None:
    names = {rule["alert"] for rule in _alerts()}
    wanted = {
        "AcuteReferralAckOverdue",
        "SlaBreachesRisingInMunicipality",
        "ReferralsEscalated",
        "DeadLetterTopicGrowing",
        "ConsumerLagGrowing",
        "OutboxBacklog",
        "NoOutboxRelayLeader",
        "WebhookSubscriptionFailing",
        "EmailFailing",
        "ServiceDown",
        "PostgresUnreachable",
        "KafkaUnreachable",
        "IntakePostErrorBudgetBurnFast",
        "IntakePostErrorBudgetBurnSlow",
    }
    assert wanted <= names, sorted(wanted - names)


@pytest.mark.parametrize("rule", _alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_severity_both_summaries_and_a_runbook_section(rule: dict) -> None:
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["summary_da"] != annotations["summary"]
    assert DANISH.search(annotations["summary_da"]), annotations["summary_da"]
    page, _, anchor = annotations["runbook_url"].partition("#")
    assert page == "docs/operations.md"
    assert anchor in _anchors(OPERATIONS.read_text()), f"no section #{anchor} in docs/operations.md"


def _cases() -> list[dict]:
    return [
        case
        for path in TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def test_the_promtool_tests_are_the_ones_found() -> None:
    assert {p.name for p in TESTS} >= {"platform_test.yml", "slo_test.yml"}


def test_every_alert_has_a_promtool_test_that_fires_it() -> None:
    """A rule nobody saw fire may never fire: each alert needs a case expecting it (`exp_alerts` not empty)."""
    fired = {case["alertname"] for case in _cases() if case.get("exp_alerts")}
    untested = {rule["alert"] for rule in _alerts()} - fired
    assert not untested, f"no promtool case makes these fire: {sorted(untested)}"


def test_every_promtool_case_names_an_alert_of_the_rules() -> None:
    """promtool passes a quiet case (`exp_alerts: []`) of a misspelt or removed alert without a word."""
    unknown = {case["alertname"] for case in _cases()} - {rule["alert"] for rule in _alerts()}
    assert not unknown, sorted(unknown)


def test_the_stack_s_prometheus_scrapes_every_service_and_labels_it() -> None:
    cfg = StackConfig(home=REPO / ".local" / "unit-test-never-started", base_port=18000)
    config = monitoring.prometheus_config(cfg)
    jobs = {job["job_name"]: job["static_configs"][0] for job in config["scrape_configs"]}
    assert jobs["notify"] == {"targets": ["127.0.0.1:18003"], "labels": {"service": "notify"}}
    assert {"intake", "routing", "notify", "stats"} <= set(jobs)
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:19095"]
    assert monitoring.prometheus_port(StackConfig(home=REPO)) == 9090  # `make up`'s Prometheus is at :9090
    mail = monitoring.alertmanager_config(cfg)["global"]
    assert mail["smtp_smarthost"] == "127.0.0.1:18025" and mail["smtp_require_tls"] is False
