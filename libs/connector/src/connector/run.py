"""`connector run` (what `make run` calls): migrate, then every service, with the sandbox in demo mode."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bigcommerce_sandbox.data import DEFAULT_APP
from common.crypto import generate_key
from common.db.migrate import migrate
from common.lifecycle import BOOT_FAILURES, install_stop_signals
from common.settings import ServiceSettings, load_settings

from connector.failures import report_failure
from connector.supervisor import ProcessSpec, base_environment, console_script, supervise

DEMO_INTERNAL_TOKEN = "demo-internal-token"  # noqa: S105 - printed for the newcomer; sandbox mode only
DEMO_STATE_DIR = Path(".demo")
# The sandbox keeps its store here, so a restarted demo finds the orders and grant the database knows.
SANDBOX_STATE_FILE = DEMO_STATE_DIR / "sandbox.json"
SERVICES = ("auth-gateway", "order-poller", "status-writer")


def sandbox_mode() -> bool:
    """No real app credentials configured: run against the built-in BigCommerce sandbox."""
    return not os.environ.get("BIGCOMMERCE_CLIENT_ID")


def demo_token_key() -> str:
    """A Fernet key kept across demo runs, so tokens stored by an earlier run still decrypt."""
    path = DEMO_STATE_DIR / "token-encryption-key"
    if not path.exists():
        DEMO_STATE_DIR.mkdir(exist_ok=True)
        path.write_text(generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


def demo_environment(sandbox_port: int, gateway_url: str) -> dict[str, str]:
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    defaults = {
        "PUBLIC_BASE_URL": gateway_url,
        "CLICKDROP_APP_URL": gateway_url,
        "BIGCOMMERCE_CLIENT_ID": DEFAULT_APP.client_id,
        "BIGCOMMERCE_CLIENT_SECRET": DEFAULT_APP.client_secret,
        "BIGCOMMERCE_API_URL": sandbox_url,
        "BIGCOMMERCE_LOGIN_URL": sandbox_url,
        # the settings pages' way back to "BigCommerce": the sandbox store's marketplace page
        "BIGCOMMERCE_CONTROL_PANEL_URL": f"{sandbox_url}/marketplace",
        "TOKEN_ENCRYPTION_KEYS": demo_token_key(),
        "INTERNAL_API_TOKENS": DEMO_INTERNAL_TOKEN,
        # a demo wants to show the flow in minutes, not the production half hour
        "POLL_INTERVAL_MIN_SECONDS": "30",
        "POLL_INTERVAL_MAX_SECONDS": "45",
        "FLUSH_INTERVAL_SECONDS": "60",
    }
    return {key: os.environ.get(key, value) for key, value in defaults.items()}


def local_run_environment() -> dict[str, str]:
    """What every `make run` process gets unless the environment says otherwise.

    A local run listens on loopback only (its internal API token is printed for the newcomer),
    and the gateway serves its own settings pages, since CLICKDROP_APP_URL is the gateway here.
    """
    defaults = {
        "LOG_FORMAT": "console",
        "HTTP_HOST": "127.0.0.1",
        "SETTINGS_PAGES_ENABLED": "true",
    }
    return {key: os.environ.get(key, value) for key, value in defaults.items()}


def without_client_secret(env: dict[str, str]) -> dict[str, str]:
    """The poller and writer never get the client secret: it signs the JWTs that authorise uninstall."""
    return {key: value for key, value in env.items() if key != "BIGCOMMERCE_CLIENT_SECRET"}


def plan(args: argparse.Namespace) -> list[ProcessSpec]:
    overrides = local_run_environment()
    specs: list[ProcessSpec] = []
    if sandbox_mode():
        overrides |= demo_environment(args.sandbox_port, f"http://127.0.0.1:{args.gateway_port or 8080}")
        public = overrides["PUBLIC_BASE_URL"]
        specs.append(
            ProcessSpec(
                "sandbox",
                [
                    console_script("connector"),
                    "sandbox",
                    "--port",
                    str(args.sandbox_port),
                    "--app-base-url",
                    public,
                    "--state-file",
                    str(SANDBOX_STATE_FILE),
                    "--new-order-every",
                    str(args.new_order_every),
                ],
                base_environment(overrides),
            )
        )
    env = base_environment(overrides)
    ports = dict(zip(SERVICES, (args.gateway_port, args.poller_port, args.writer_port), strict=True))
    for name in SERVICES:
        port = ports[name]  # None: the service's own default (8080, 8081, 8082)
        # only the gateway verifies callbacks: the others never get the client secret
        service_env = env if name == "auth-gateway" else without_client_secret(env)
        specs.append(
            ProcessSpec(
                name, [console_script(name)], service_env | ({"HTTP_PORT": str(port)} if port else {})
            )
        )
    if sandbox_mode() and not args.no_demo_despatcher:
        despatcher = [console_script("connector"), "demo-despatcher", "--delay", str(args.despatch_delay)]
        specs.append(ProcessSpec("demo-despatch", despatcher, without_client_secret(env)))
    return specs


def run(args: argparse.Namespace) -> int:
    settings = load_settings(ServiceSettings)  # a malformed setting: one line naming it, no traceback
    try:
        asyncio.run(migrate(settings.database_url.get_secret_value()))
    except BOOT_FAILURES as error:
        return report_failure("migration", error)
    specs = plan(args)
    if sandbox_mode():
        print(
            "sandbox mode (no BIGCOMMERCE_CLIENT_ID): open the marketplace URL the sandbox prints, install the app,\n"
            "then activate the channel on the settings page; the store's orders page shows them completed.\n"
            f"The sandbox keeps its store in {SANDBOX_STATE_FILE}. Internal API token: {DEMO_INTERNAL_TOKEN}",
            file=sys.stderr,
        )

    async def main() -> int:
        stop = asyncio.Event()
        install_stop_signals(stop)
        return await supervise(specs, stop)

    return asyncio.run(main())
