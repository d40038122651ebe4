"""Waiting on conditions with a deadline (never on time passing), and free loopback ports."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0) -> bool:
    """Poll `check` until it holds or the deadline passes (waiting on a condition, not on time)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
