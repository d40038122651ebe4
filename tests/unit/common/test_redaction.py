"""The redaction choke point: patterns that hide credentials in free text, and the secrets a process knows."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from common.crypto import TokenCipher, generate_key
from common.redaction import describe_error, redact_text, register_settings_secrets
from common.settings import BigCommerceSettings
from pydantic import SecretStr


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        # the webhook secret header as aiohttp's repr and as a plain header line show it
        ("headers={'X-Clickdrop-Webhook-Token': 'whs-1a2b3c'}", "whs-1a2b3c"),
        ("X-Clickdrop-Webhook-Token: whs-1a2b3c", "whs-1a2b3c"),
        ("<CIMultiDictProxy('X-Auth-Token': 'tok9z8y7x6', 'Accept': '*/*')>", "tok9z8y7x6"),
        # a DSN's password as a query parameter, and libpq's key/value form
        ("postgresql://app@db:5432/connector?sslmode=require&password=pg-pass-77", "pg-pass-77"),
        ("host=db user=app password=pg-pass-77 dbname=x", "pg-pass-77"),
        ("amqp://guest:rabbit-pass-1@rabbit:5672/", "rabbit-pass-1"),
        # a bare credential with no header name around it
        ("refused Bearer abc.DEF-123_~+/= from 10.0.0.1", "abc.DEF-123_~+/="),
        ('{"access_token": "tok-json-55"}', "tok-json-55"),
        ("GET /channels/c/settings?launch=launch-tok-1", "launch-tok-1"),
        ("GET /bigcommerce/auth?code=qr6h3&scope=x", "qr6h3"),
    ],
)
def test_credentials_in_free_text_are_masked(text: str, secret: str) -> None:
    masked = redact_text(text)
    assert secret not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    "text",
    [
        "status_code=503 after 3 attempts",
        "reply_code=320 reply_text=CONNECTION_FORCED",
        "grant_generation=4",
        "Bad status line: Invalid status code: 2OO",
        "a valid bearer token is required",
        "order 101: BigCommerce refused the shipment: tracking_number too long",
    ],
)
def test_ordinary_fields_are_not_over_masked(text: str) -> None:
    assert redact_text(text) == text


def test_nul_characters_are_dropped_for_storage() -> None:
    assert redact_text("bad\x00text") == "badtext"


def test_every_secret_the_cipher_saw_is_masked_wherever_it_appears() -> None:
    cipher = TokenCipher([generate_key()])
    access_token = "q1w2e3r4t5y6u7i8o9p0asdfghjklzx"
    webhook_secret = "Zm9vYmFyYmF6cXV4cXV1eF9zZWNyZXQtd2gx"
    cipher.decrypt(cipher.encrypt(access_token))
    cipher.encrypt(webhook_secret)

    text = f"unexpected value {access_token}; echo: [{webhook_secret}]. done"
    masked = redact_text(text)
    assert access_token not in masked
    assert webhook_secret not in masked
    assert masked.endswith("done")


def test_configured_secrets_are_masked_even_inside_other_text(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = BigCommerceSettings(
        bigcommerce_client_id="client",
        token_encryption_keys=[SecretStr(generate_key())],
        database_url=SecretStr("postgresql://app:database-password-42@db/x"),
    )
    register_settings_secrets(settings)
    key = settings.token_encryption_keys[0].get_secret_value()
    assert key not in redact_text(f"keys={key}")
    assert key not in redact_text(f"prefix{key}suffix")
    assert "database-password-42" not in redact_text("auth failed for database-password-42x")


def test_aiohttp_errors_are_described_by_type_and_status_only() -> None:
    async def fetch_malformed() -> aiohttp.ClientError:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1000)
            writer.write(b"HTTP/1.1 abc garbage\r\nContent-Length: xx\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/", headers={"X-Auth-Token": "tok-in-headers-123"}
                    ):
                        raise AssertionError("the malformed answer was accepted")
                except aiohttp.ClientError as error:
                    return error
        finally:
            server.close()
            await server.wait_closed()

    error = asyncio.run(fetch_malformed())
    assert "tok-in-headers-123" in repr(error)  # what this guards against
    assert describe_error(error) == "ClientResponseError (status 400)"
