"""`connector run` (`make run`): who gets which secret, and where the demo listens."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from connector.run import plan


def _args() -> argparse.Namespace:
    return argparse.Namespace(
        sandbox_port=8900,
        gateway_port=None,
        poller_port=None,
        writer_port=None,
        new_order_every=120.0,
        despatch_delay=20.0,
        no_demo_despatcher=False,
    )


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, str]]:
    monkeypatch.chdir(tmp_path)  # the demo keeps its token key in .demo/
    for name in ("BIGCOMMERCE_CLIENT_ID", "BIGCOMMERCE_CLIENT_SECRET", "HTTP_HOST", "SETTINGS_PAGES_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    specs = plan(_args())
    return [{"name": spec.name, **spec.env} for spec in specs]


def _env(specs: list[dict[str, str]], name: str) -> dict[str, str]:
    (env,) = [spec for spec in specs if spec["name"] == name]
    return env


def test_only_the_gateway_gets_the_client_secret(demo: list[dict[str, str]]) -> None:
    assert _env(demo, "auth-gateway")["BIGCOMMERCE_CLIENT_SECRET"]
    for name in ("order-poller", "status-writer", "demo-despatch"):
        assert "BIGCOMMERCE_CLIENT_SECRET" not in _env(demo, name)


def test_the_demo_listens_on_loopback_and_serves_its_settings_pages(demo: list[dict[str, str]]) -> None:
    for name in ("auth-gateway", "order-poller", "status-writer"):
        assert _env(demo, name)["HTTP_HOST"] == "127.0.0.1"
    assert _env(demo, "auth-gateway")["SETTINGS_PAGES_ENABLED"] == "true"


def test_real_credentials_keep_the_secret_from_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGCOMMERCE_CLIENT_ID", "real-client")
    monkeypatch.setenv("BIGCOMMERCE_CLIENT_SECRET", "real-secret-0123456789")
    specs = {spec.name: spec.env for spec in plan(_args())}
    assert set(specs) == {"auth-gateway", "order-poller", "status-writer"}
    assert specs["auth-gateway"]["BIGCOMMERCE_CLIENT_SECRET"] == "real-secret-0123456789"
    assert "BIGCOMMERCE_CLIENT_SECRET" not in specs["order-poller"]
    assert "BIGCOMMERCE_CLIENT_SECRET" not in specs["status-writer"]
