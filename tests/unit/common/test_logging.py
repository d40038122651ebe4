"""Log redaction: secrets never reach the output, whether logged by us or by a library."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog
from common.logging import configure_logging
from common.redaction import redact_text


@pytest.fixture(params=["json", "console"])
def any_format(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    structlog.reset_defaults()
    configure_logging("DEBUG", request.param)
    yield buffer
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    structlog.reset_defaults()
    configure_logging("DEBUG", "json")
    yield buffer
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_secret_named_fields_are_masked(captured: io.StringIO) -> None:
    log = structlog.get_logger("test")
    log.info(
        "grant_stored",
        access_token="tok-abcdef123",
        client_secret="cs-999",
        headers={"X-Auth-Token": "tok-abcdef123", "Accept": "application/json"},
        store_hash="abc123",
    )

    text = captured.getvalue()
    assert "tok-abcdef123" not in text
    assert "cs-999" not in text
    (entry,) = lines(captured)
    assert entry["store_hash"] == "abc123"
    assert entry["headers"] == {"X-Auth-Token": "***", "Accept": "application/json"}


def test_passwords_in_urls_are_removed(captured: io.StringIO) -> None:
    structlog.get_logger("test").info(
        "connecting", target="amqp://guest:guest-pass@rabbit:5672/", dsn_hint="see postgresql://app:pw@db/x"
    )

    text = captured.getvalue()
    assert "guest-pass" not in text
    assert "app:pw" not in text
    assert "rabbit:5672" in text


def test_stdlib_library_logs_are_redacted_too(captured: io.StringIO) -> None:
    logging.getLogger("aiohttp.client").warning(
        "request failed: Authorization: Bearer internal-abc; X-Auth-Token=tok-xyz"
    )

    text = captured.getvalue()
    assert "internal-abc" not in text
    assert "tok-xyz" not in text
    (entry,) = lines(captured)
    assert entry["logger"] == "aiohttp.client"


def test_exception_tracebacks_are_redacted(captured: io.StringIO) -> None:
    try:
        raise RuntimeError("cannot reach postgresql://admin:topsecret@db:5432/app")
    except RuntimeError:
        structlog.get_logger("test").exception("pool_failed")

    assert "topsecret" not in captured.getvalue()


def test_query_string_secrets_are_masked() -> None:
    masked = redact_text("GET /bigcommerce/auth?code=qr6h3&scope=store_v2_orders&signed_payload_jwt=eyJ.a.b")
    assert "qr6h3" not in masked
    assert "eyJ.a.b" not in masked
    assert "scope=store_v2_orders" in masked


def _check_bearer(presented: str) -> None:
    webhook_secret = "whsec-local-variable-0123456789"
    raise ValueError(f"token check failed for a {len(presented)}-character token ({len(webhook_secret)})")


def test_tracebacks_never_render_local_variables(any_format: io.StringIO) -> None:
    presented = "bearer-in-a-local-0123456789"
    try:
        _check_bearer(presented)
    except ValueError:
        structlog.get_logger("test").exception("api_request_failed")
    logging.getLogger("aiohttp.server").exception("Error handling request", exc_info=sys.exc_info())

    text = any_format.getvalue()
    assert "_check_bearer" in text  # the traceback is there
    assert "bearer-in-a-local" not in text
    assert "whsec-local-variable" not in text
