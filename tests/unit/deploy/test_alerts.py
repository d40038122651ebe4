"""The PrometheusRule follows kube-prometheus conventions and every alert has its runbook in deploy/README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.alert_rules import alert_rules, series_used
from tests.support.manifests import rendered

ROOT = Path(__file__).resolve().parents[3]
DEPLOY_README = ROOT / "deploy" / "README.md"
SEVERITIES = {"critical", "warning", "info"}
DURATION = re.compile(r"^(\d+[smhd])+$")
RUNBOOK_BASE = "https://git.example.com/clickdrop/bigcommerce-connector/blob/main/deploy/README.md#"
# What the operator must hear about (issue 13), and the alert that says it.
REQUIRED = {
    "a store not downloaded for more than three poll intervals": "BigCommerceStoreNotDownloaded",
    "write-backs pending longer than two flushes": "BigCommerceWriteBacksPending",
    "write-backs failing": "BigCommerceWriteBacksFailing",
    "messages in the DLQ": "BigCommerceDeadLetters",
    "outbox lag": "BigCommerceOutboxLagging",
    "channels needing reauthorization": "BigCommerceChannelsNeedReauthorization",
    "sustained 429s from BigCommerce": "BigCommerceRateLimited",
    "a service not ready": "BigCommerceConnectorPodNotReady",
    "a service with no ready replica": "BigCommerceConnectorServiceDown",
}


def runbook_sections() -> dict[str, str]:
    """Level-3 headings of the runbook part of deploy/README.md -> their text."""
    text = DEPLOY_README.read_text(encoding="utf-8")
    part = text.split("## Alerts and runbooks", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### ", part, flags=re.MULTILINE)[1:]
    return {section.splitlines()[0].strip(): section for section in sections}


def test_every_required_alert_exists_once() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))
    assert set(REQUIRED.values()) <= set(names)


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_each_overlay_ships_the_rules_and_the_pod_monitor(overlay: str) -> None:
    kinds = {doc["kind"] for doc in rendered(overlay)}
    assert {"PrometheusRule", "PodMonitor"} <= kinds
    assert alert_rules(overlay) == alert_rules()


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_rule_follows_kube_prometheus_conventions(rule: dict[str, object]) -> None:
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", str(rule["alert"]))
    assert series_used(str(rule["expr"])), "the expression parses and reads at least one series"
    assert DURATION.fullmatch(str(rule["for"]))
    labels = rule["labels"]
    assert isinstance(labels, dict)
    assert labels["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert isinstance(annotations, dict)
    assert {"summary", "description", "runbook_url"} <= set(annotations)
    assert annotations["runbook_url"] == RUNBOOK_BASE + str(rule["alert"]).lower()


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_rule_has_a_runbook_section_saying_what_it_means_what_to_look_at_and_what_to_do(
    rule: dict[str, object],
) -> None:
    section = runbook_sections().get(str(rule["alert"]))
    assert section is not None, f"deploy/README.md has no '### {rule['alert']}' under 'Alerts and runbooks'"
    for part in ("**What it means.**", "**What to look at.**", "**What to do.**"):
        assert part in section, f"{rule['alert']}: runbook lacks {part}"


def test_runbooks_have_no_section_without_an_alert() -> None:
    assert set(runbook_sections()) == {rule["alert"] for rule in alert_rules()}


def test_a_malformed_expression_is_refused() -> None:
    with pytest.raises(ValueError, match=r".+"):
        series_used("sum(rate(x_total[5m]) > ")


def test_pod_monitor_scrapes_the_three_services_on_their_http_port() -> None:
    docs = rendered("production")
    (monitor,) = [doc for doc in docs if doc["kind"] == "PodMonitor"]
    spec = monitor["spec"]
    assert spec["jobLabel"] == "app.kubernetes.io/name"  # the alerts' job label
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    (expression,) = spec["selector"]["matchExpressions"]
    scraped = set(expression["values"])
    assert scraped == {"auth-gateway", "order-poller", "status-writer"}
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        template = doc["spec"]["template"]
        labels = template["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert labels["app.kubernetes.io/name"] in scraped
        ports = {port["name"] for port in template["spec"]["containers"][0]["ports"]}
        assert endpoint["port"] in ports
