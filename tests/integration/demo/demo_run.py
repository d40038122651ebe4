"""`connector run` in sandbox mode as a newcomer starts it, on free ports, against the test's servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.e2e.rig import wait_until
from tests.support.waiting import free_port

BIN = Path(sys.executable).parent
DEMO_API_TOKEN = "demo-internal-token"
STOP_TIMEOUT_S = 40.0  # the supervisor's own grace (25 s) plus the services' drain
# what a developer's shell may hold that would take `connector run` out of sandbox mode or off its ports
_OUTSIDE = (
    "BIGCOMMERCE_",
    "PUBLIC_BASE_URL",
    "CLICKDROP_APP_URL",
    "HTTP_PORT",
    "TOKEN_ENCRYPTION_KEYS",
    "INTERNAL_API_TOKENS",
)


@dataclass
class DemoRun:
    """One working folder (`.demo/` lives there) and the ports every start of the demo uses."""

    folder: Path
    env: dict[str, str]
    http: aiohttp.ClientSession
    ports: dict[str, int] = field(
        default_factory=lambda: {name: free_port() for name in ("sandbox", "gateway", "poller", "writer")}
    )
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sandbox']}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def log_path(self) -> Path:
        return self.folder / f"connector-run-{self.starts}.log"

    @property
    def state(self) -> dict[str, Any]:
        """The sandbox's state file, as the sandbox last saved it."""
        data: dict[str, Any] = json.loads((self.folder / ".demo" / "sandbox.json").read_text())
        return data

    async def start(self, **environment: str) -> None:
        """`connector run` (what `make run` runs), then wait until the sandbox and every service answer."""
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)} | self.env | environment
        argv = [str(BIN / "connector"), "run", "--new-order-every", "1", "--despatch-delay", "0"]
        for name in ("sandbox", "gateway", "poller", "writer"):
            argv += [f"--{name}-port", str(self.ports[name])]
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *argv, cwd=self.folder, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
            )
        urls = [f"{self.sandbox_url}/marketplace"] + [
            f"http://127.0.0.1:{self.ports[name]}/readyz" for name in ("gateway", "poller", "writer")
        ]
        for url in urls:
            await wait_until(
                lambda url=url: self._answers(url), f"{url} after start {self.starts}", timeout_s=60
            )

    async def _answers(self, url: str) -> bool:
        assert self.process is not None
        if self.process.returncode is not None:
            pytest.fail(f"connector run exited with {self.process.returncode}:\n{self.log_path.read_text()}")
        try:
            async with self.http.get(url) as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def stop(self) -> int | None:
        """Ctrl-C's SIGTERM twin; the exit code, or None if it hung (then everything is killed)."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            await self.kill()
            return None

    async def kill(self) -> None:
        """Kill `connector run` and the processes it started (each in its own session), by their ids."""
        if self.process is None or self.process.returncode is not None:
            return
        for pid in _children(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.kill()
        await self.process.wait()

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {DEMO_API_TOKEN}"}
        async with self.http.request(
            method, f"{self.gateway_url}{path}", json=body, headers=headers
        ) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found
