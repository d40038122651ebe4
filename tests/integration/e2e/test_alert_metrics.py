"""Every series and label the alerts read exists on the real services' /metrics (deploy/k8s/monitoring)."""

from __future__ import annotations

import uuid

from tests.integration.e2e.actions import activate, install, publish
from tests.integration.e2e.rig import CONTRACT_DLQ, Rig, Service, wait_until
from tests.support.alert_rules import alert_rules, exposed_metrics, mismatches


async def metrics_text(rig: Rig, service: Service) -> str:
    async with rig.http.get(f"{service.url}/metrics") as response:
        assert response.status == 200
        return await response.text()


async def scraped(rig: Rig) -> dict[str, str]:
    return {service.command: await metrics_text(rig, service) for service in rig.services.all}


async def test_every_alert_reads_series_the_services_expose(rig: Rig) -> None:
    # a store installed and active: BigCommerce requests counted, gauges read from real rows
    rig.sandbox.create_store("alertmetrics", name="Alert Metrics Store")
    channel = await install(rig, "alertmetrics")
    await activate(rig, channel["id"], "Alert Metrics")
    await publish(rig, b"{not json", f"bad-{uuid.uuid4()}")

    async def dead_letter_counted() -> bool:
        text = await metrics_text(rig, rig.services.writer)
        return f'amqp_dead_letter_messages{{queue="{CONTRACT_DLQ}"}} 1.0' in text

    await wait_until(dead_letter_counted, "the writer's dead-letter gauge")
    texts = await scraped(rig)
    assert 'connector_channels{status="active"} 1.0' in texts["auth-gateway"]
    assert "order_poller_stores_overdue 0.0" in texts["order-poller"]
    for text in texts.values():
        assert "connector_ready 1.0" in text

    exposed = exposed_metrics(texts.values())
    problems = {rule["alert"]: mismatches(rule["expr"], exposed) for rule in alert_rules()}
    assert {alert: found for alert, found in problems.items() if found} == {}

    # the check itself can fail: a misspelt metric, a label no sample has, rate() of a gauge
    assert mismatches("max(order_poller_store_overdue) > 0", exposed)
    assert mismatches('max(connector_channels{state="active"}) > 0', exposed)
    assert mismatches("rate(outbox_lag_seconds[5m]) > 0", exposed)
