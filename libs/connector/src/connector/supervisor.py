"""`connector run`: start every process of the connector, prefix their output, stop them all on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

COLOURS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m")
RESET = "\033[0m"


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]


def console_script(name: str) -> str:
    """The path of a console script installed beside this interpreter."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


async def _pump(name: str, colour: str, stream: asyncio.StreamReader) -> None:
    prefix = f"{colour}{name:<14}{RESET}| " if sys.stdout.isatty() else f"{name:<14}| "
    while line := await stream.readline():
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def supervise(specs: Sequence[ProcessSpec], stop: asyncio.Event, *, grace_s: float = 25.0) -> int:
    """Run the processes until `stop` is set or one exits; then SIGTERM all, SIGKILL after `grace_s`."""
    processes: list[tuple[ProcessSpec, asyncio.subprocess.Process]] = []
    pumps: list[asyncio.Task[None]] = []
    for index, spec in enumerate(specs):
        process = await asyncio.create_subprocess_exec(
            *spec.argv,
            env=dict(spec.env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        assert process.stdout is not None
        processes.append((spec, process))
        pumps.append(asyncio.create_task(_pump(spec.name, COLOURS[index % len(COLOURS)], process.stdout)))

    exited = [asyncio.create_task(process.wait()) for _, process in processes]
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *exited], return_when=asyncio.FIRST_COMPLETED)
    failed = next((spec.name for (spec, process) in processes if process.returncode not in (None, 0)), None)
    if failed:
        print(f"{failed} exited with an error; stopping everything", file=sys.stderr)

    for _, process in reversed(processes):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*exited), grace_s)
    except TimeoutError:
        for _, process in processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        await asyncio.gather(*exited)
    stopper.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)
    return 1 if failed else 0


def base_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
