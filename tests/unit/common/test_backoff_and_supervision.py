"""Capped backoff at any attempt count, the server-error rule, and background tasks under watch."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import structlog
from asyncpg.exceptions import _base as asyncpg_base
from common.backoff import Backoff, capped_delay
from common.db.errors import DatabaseUnavailableError, is_server_error
from common.supervision import Supervisor, spawn, supervising


@pytest.mark.parametrize("attempt", [0, 1, 10, 44, 45, 1024, 2**31 - 1, 10**18])
def test_capped_delay_never_overflows_and_never_passes_the_cap(attempt: int) -> None:
    delay = capped_delay(attempt, base_s=1.0, max_s=30.0)
    assert 0 < delay <= 30.0
    if attempt >= 5:
        assert delay == 30.0


def test_backoff_doubles_with_full_jitter_and_resets() -> None:
    backoff = Backoff(base_s=0.5, max_s=4.0, random=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    jittered = Backoff(base_s=0.5, max_s=4.0, random=lambda: 0.25)
    assert jittered.next_delay() == 0.125


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        DatabaseUnavailableError("not accepting connections"),
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("too many clients"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.InterfaceError("connection is closed"),
    ],
)
def test_server_errors_are_waited_out(error: Exception) -> None:
    assert is_server_error(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedColumnError("column does not exist"),
        asyncpg_base.DataError("invalid input for query argument $1"),
        asyncpg.exceptions.ClientConfigurationError("bad option"),
        ValueError("a bug"),
    ],
)
def test_mistakes_are_not_server_errors(error: Exception) -> None:
    assert not is_server_error(error)


async def test_a_background_task_that_dies_stops_the_process_with_one_line() -> None:
    stop = asyncio.Event()
    supervisor = Supervisor.for_event(stop)

    async def relay() -> None:
        raise KeyError("a bug")

    with structlog.testing.capture_logs() as logs, supervising(supervisor):
        task = spawn(relay(), name="outbox-relay")
        await asyncio.wait_for(stop.wait(), 5)
    with pytest.raises(KeyError):
        await task
    assert supervisor.failure == "outbox-relay"
    assert [(line["event"], line["task"], line["error"]) for line in logs] == [
        ("background_task_died", "outbox-relay", "KeyError")
    ]


async def test_a_task_that_returns_while_it_should_run_is_a_death_too_but_a_cancelled_one_is_not() -> None:
    stop = asyncio.Event()
    supervisor = Supervisor.for_event(stop)

    async def forever() -> None:
        await asyncio.Event().wait()

    async def quits() -> None:
        return None

    with supervising(supervisor):
        cancelled = spawn(forever(), name="cancelled-on-exit")
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert not stop.is_set()
        await spawn(quits(), name="consumer")
        await asyncio.wait_for(stop.wait(), 5)
    assert supervisor.failure == "consumer"


async def test_tasks_ending_after_the_stop_are_the_drain_not_a_death() -> None:
    stop = asyncio.Event()
    supervisor = Supervisor.for_event(stop)

    async def drains() -> None:
        await stop.wait()

    with supervising(supervisor):
        task = spawn(drains(), name="consumer")
        stop.set()
        await task
    assert supervisor.failure is None
