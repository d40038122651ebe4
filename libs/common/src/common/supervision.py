"""Background tasks under watch: one that dies takes its process down, so the orchestrator restarts it.

A relay or consumer that ended quietly would leave a pod that looks ready and does nothing. Every
long-running task is started with `spawn()`; if it ends while the process is not stopping (an
exception, or returning when it never should), one `background_task_died` line is logged and the
process's stop event is set, so it drains what it can and `run_service` exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Supervisor:
    """The watch of one process: its stop action and the first task that died."""

    def __init__(self, stop: Callable[[], None], *, stopping: Callable[[], bool]) -> None:
        self._stop = stop
        self._stopping = stopping
        self.failure: str | None = None
        self._watched: set[asyncio.Task[Any]] = set()

    @classmethod
    def for_event(cls, stop: asyncio.Event) -> Supervisor:
        """The usual wiring: a death sets the process's stop event; tasks ending after it are its drain."""
        return cls(stop.set, stopping=stop.is_set)

    def watch(self, task: asyncio.Task[Any]) -> None:
        self._watched.add(task)
        task.add_done_callback(self._ended)

    def reported(self, task: asyncio.Task[Any]) -> bool:
        """Whether this task's death has been reported (and the process told to stop)."""
        return task in self._watched and self.failure is not None

    def _ended(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or self._stopping():
            return  # cancelled by its owner on the way out, or ended during the drain
        error = task.exception()
        self.failure = self.failure or task.get_name()
        if error is None:
            log.critical("background_task_died", task=task.get_name(), error="returned unexpectedly")
        else:
            log.critical(
                "background_task_died",
                task=task.get_name(),
                error=type(error).__name__,
                exc_info=error,
            )
        self._stop()


_CURRENT: contextvars.ContextVar[Supervisor | None] = contextvars.ContextVar("supervisor", default=None)


@contextmanager
def supervising(supervisor: Supervisor) -> Iterator[Supervisor]:
    """Make `supervisor` watch every task `spawn()`ed in this context (and the tasks it starts)."""
    token = _CURRENT.set(supervisor)
    try:
        yield supervisor
    finally:
        _CURRENT.reset(token)


def spawn(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Start a long-running task under the current supervisor (just a named task without one, in tests)."""
    task = asyncio.create_task(coro, name=name)
    supervisor = _CURRENT.get()
    if supervisor is not None:
        supervisor.watch(task)
    return task


async def finish(task: asyncio.Task[Any]) -> None:
    """End a spawned task on its owner's way out: cancel it if it still runs, and wait for it.

    A task that already died was reported by the supervisor, which stops the process with a
    non-zero exit: its error is not raised again through every exit on the way out. Without a
    supervisor (a test) it is raised, so nothing fails unseen.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        supervisor = _CURRENT.get()
        if supervisor is None or not supervisor.reported(task):
            raise
