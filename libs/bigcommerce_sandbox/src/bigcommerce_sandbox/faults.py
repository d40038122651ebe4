"""Fault injection per store: latency, error statuses, hangs and dropped connections."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import struct
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

FaultKind = Literal[
    "latency",  # wait `delay_s`, then serve normally
    "status",  # answer `status` without touching state
    "timeout",  # hang without answering (until the client gives up or `hang_s`), then drop
    "reset",  # drop the connection with a TCP reset, nothing applied
    "apply_then_reset",  # apply the request, then reset: the client never learns it succeeded
    "apply_then_timeout",  # apply the request, then hang and drop
    "malformed_http",  # answer bytes that are not HTTP (a broken proxy), nothing applied
]


@dataclass
class Fault:
    """One injected fault; matches requests by method and a regex searched in the path.

    `times` None means every matching request; `probability` below 1 makes it fire on
    a fraction of them (seeded, so runs repeat).
    """

    kind: FaultKind
    status: int = 503
    times: int | None = None
    probability: float = 1.0
    method: str | None = None
    path_pattern: str | None = None
    delay_s: float = 0.0
    hang_s: float = 30.0
    fired: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request (ignoring `times` and `probability`)."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_pattern is None or re.search(self.path_pattern, path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class FaultSet:
    """The faults armed for one store (or for the login service), switchable at runtime."""

    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        """Arm a fault; returns it so a test can inspect `fired` later."""
        self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Disarm one fault."""
        self._faults.remove(fault)

    def clear(self) -> None:
        """Disarm every fault."""
        self._faults.clear()

    @property
    def active(self) -> list[Fault]:
        """Faults that can still fire."""
        return [f for f in self._faults if not f.exhausted]

    def pick(self, method: str, path: str) -> Fault | None:
        """The first armed fault that fires for this request, counting it as fired."""
        for fault in self._faults:
            if fault.exhausted or not fault.matches(method, path):
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            fault.fired += 1
            return fault
        return None


class ConnectionDropped(Exception):
    """The sandbox dropped the connection on purpose; there is no response to send."""


def reset_connection(request: web.Request) -> None:
    """Abort the TCP connection with an RST, as a crashing proxy or load balancer would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0 turns close into a reset instead of an orderly FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# Not a status line: what a proxy speaking another protocol, or a truncated buffer, sends back.
MALFORMED_RESPONSE = b"HTTP/1.1 2OO NOT-A-STATUS\r\nContent-Length: banana\r\n\r\n\x00\xff garbage"


def send_malformed_response(request: web.Request) -> None:
    """Write bytes no HTTP client can parse in place of a response, then close the connection."""
    transport = request.transport
    if transport is None:
        return
    transport.write(MALFORMED_RESPONSE)
    transport.close()


async def hang(request: web.Request, limit_s: float, closing: asyncio.Event) -> None:
    """Hold the request open until the client disconnects, the limit passes or the sandbox stops.

    Bounded so that a client without a timeout does not keep the sandbox from stopping.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while loop.time() < deadline and not closing.is_set():
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        try:
            await asyncio.wait_for(closing.wait(), timeout=0.02)
        except TimeoutError:
            continue
