"""Key rotation with the real services running: new key first, `connector rotate-keys`, then the old key removed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import asyncpg
from bigcommerce_sandbox import LineSpec
from common.crypto import generate_key
from cryptography.fernet import Fernet

from tests.integration.e2e.actions import activate, despatch, install, publish
from tests.integration.e2e.rig import Rig, wait_until

CONNECTOR = Path(sys.executable).parent / "connector"
COMPLETED = 10


async def _restart_with_keys(rig: Rig, keys: str) -> None:
    """A rollout of new TOKEN_ENCRYPTION_KEYS: every service stopped cleanly and started again."""
    assert set((await rig.services.stop()).values()) == {0}
    rig.services.env["TOKEN_ENCRYPTION_KEYS"] = keys
    await rig.services.start()


async def _rotate(database_url: str, keys: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "TOKEN_ENCRYPTION_KEYS": keys, "LOG_FORMAT": "json"}
    process = await asyncio.create_subprocess_exec(
        str(CONNECTOR), "rotate-keys", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_keys_rotate_while_the_services_run_and_the_old_key_can_then_go(
    rig: Rig, pool: asyncpg.Pool, database_url: str
) -> None:
    sandbox = rig.sandbox
    store = sandbox.create_store("rotshop", name="Rotation Shop", weight_units="Kilograms")
    sandbox.add_order(store.hash, [LineSpec(name="Mug", weight="0.4")])
    channel = await install(rig, store.hash)
    channel_id = channel["id"]
    await activate(rig, channel_id, "Rotation")
    await rig.tap.wait_for("OrderDownloaded", 1, channel_id=channel_id)
    old_key, new_key = rig.services.env["TOKEN_ENCRYPTION_KEYS"], generate_key()

    # 1. every service learns the new key (first: it encrypts from now on) and still reads the old
    await _restart_with_keys(rig, f"{new_key},{old_key}")
    # 2. rotation while they run and work: an order arrives and is polled meanwhile
    sandbox.add_order(store.hash, [LineSpec(name="Teapot", weight="0.9")])
    output = await _rotate(database_url, f"{new_key},{old_key}")
    assert "stored secrets re-encrypted: 2" in output  # the access token and the webhook secret
    await rig.tap.wait_for("OrderDownloaded", 2, channel_id=channel_id)
    # a rewritten ciphertext is not a new token: no poll or flush stopped over it
    assert "token changed" not in rig.services.poller.log_text()

    # 3. the old key removed: everything is still readable
    await _restart_with_keys(rig, new_key)
    only_new = Fernet(new_key.encode())
    row = await pool.fetchrow("SELECT access_token_encrypted, webhook_secret_encrypted FROM channels")
    assert row is not None
    only_new.decrypt(row["access_token_encrypted"])
    only_new.decrypt(row["webhook_secret_encrypted"])

    third = sandbox.add_order(store.hash, [LineSpec(name="Apron", weight="0.2")])
    await rig.tap.wait_for("OrderDownloaded", 3, channel_id=channel_id)  # the poller reads the token
    event = despatch(channel_id, store.hash, third.id, tracking_number="AB523456785GB")
    await publish(rig, json.dumps(event).encode(), event["event_id"])
    await wait_until(  # the writer reads the token
        lambda: sandbox.order(store.hash, third.id).status_id == COMPLETED, "the despatch written back"
    )
    (hook,) = sandbox.hooks_for(store.hash, sandbox.config.client_id)
    hook.is_active = False
    launch = f"{sandbox.base_url}/marketplace/launch"
    async with rig.http.get(launch, params={"store": store.hash}, allow_redirects=False) as response:
        load = response.headers["Location"]
    async with rig.http.get(load, allow_redirects=False) as response:
        assert response.status == 302  # load: the gateway reads token and webhook secret to repair the hook
    await wait_until(
        lambda: sandbox.hooks_for(store.hash, sandbox.config.client_id)[0].is_active, "hook repaired"
    )
    await sandbox.drain()
    assert sandbox.deliveries
    assert [d.status for d in sandbox.deliveries][-1] == 200  # the webhook secret still matches
    for service in rig.services.all:
        assert "cannot be decrypted" not in service.log_text(), service.command
