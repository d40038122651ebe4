"""Looking for secrets where they must never be: the log output and every text column of the database."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import asyncpg
import pytest
import structlog
from common.logging import configure_logging

TEXT_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
 WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'character varying', 'jsonb', 'ARRAY')
"""


class _CurrentStderr:
    """Writes to whatever sys.stderr is now: pytest replaces its capture between setup and call."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@pytest.fixture
def captured_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """The process's log output as JSON lines on the captured stderr, configured as the services do."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("DEBUG", "json")
    # no caching: a module's logger bound now would keep this configuration for later tests
    structlog.configure(cache_logger_on_first_use=False)
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(_CurrentStderr())  # type: ignore[arg-type]
    try:
        yield capsys
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def log_output(captured: pytest.CaptureFixture[str]) -> str:
    logged = captured.readouterr()
    return logged.out + logged.err


async def database_texts(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    """(table, column, text) of every value of every text-like column (bytea as hex)."""
    found = []
    for column in await pool.fetch(TEXT_COLUMNS):
        table, name = column["table_name"], column["column_name"]
        for row in await pool.fetch(f'SELECT "{name}"::text AS v FROM "{table}" WHERE "{name}" IS NOT NULL'):
            found.append((table, name, row["v"]))
    return found


async def assert_nowhere_in_database(pool: asyncpg.Pool, *secrets: str) -> None:
    for table, column, text in await database_texts(pool):
        for secret in secrets:
            assert secret not in text, (table, column)
            assert secret.encode().hex() not in text, (table, column)
