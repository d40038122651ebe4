"""`connector migrate` and `connector run` end on a bad setting or an unreachable database with one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def free_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connector(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", [["migrate"], ["run", "--no-demo-despatcher"]])
def test_an_unreachable_database_is_one_line_without_the_password(command: list[str]) -> None:
    url = f"postgresql://postgres:s3cret-pass@127.0.0.1:{free_port()}/connector_test"

    done = connector(*command, DATABASE_URL=url, BIGCOMMERCE_CLIENT_ID="")

    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("migration failed: the database (DATABASE_URL) cannot be reached"), (
        done.stderr
    )
    assert "Traceback" not in done.stderr
    assert "s3cret-pass" not in done.stderr + done.stdout


def test_a_malformed_setting_stops_connector_run_with_one_line_naming_it() -> None:
    done = connector("run", LOG_LEVEL="LOUD")

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "configuration error: LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"
    ]
