"""Finding the real PostgreSQL and RabbitMQ the tests run against (CONTRACT §1): env, local, testcontainers, else fail."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True)
class Servers:
    postgres_url: str  # a DSN of the maintenance database on the server
    amqp_url: str


class ServersUnavailableError(RuntimeError):
    pass


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:  # noqa: BLE001 - any failure means no usable engine
        return False
    return True


@contextmanager
def find_servers() -> Iterator[Servers]:
    """Yield servers in CONTRACT order; raise with a clear message when there are none."""
    with ExitStack() as stack:
        postgres = os.environ.get("TEST_DATABASE_URL")
        amqp = os.environ.get("TEST_AMQP_URL")
        if postgres is None and _reachable(LOCAL_POSTGRES, 5432):
            postgres = LOCAL_POSTGRES
        if amqp is None and _reachable(LOCAL_AMQP, 5672):
            amqp = LOCAL_AMQP
        if (postgres is None or amqp is None) and _docker_available():
            if postgres is None:
                from testcontainers.postgres import PostgresContainer

                container = stack.enter_context(PostgresContainer("postgres:16-alpine", driver=None))
                postgres = container.get_connection_url()
            if amqp is None:
                from testcontainers.rabbitmq import RabbitMqContainer

                rabbit = stack.enter_context(RabbitMqContainer("rabbitmq:3.13-alpine"))
                amqp = f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/"
        if amqp == LOCAL_AMQP and shutil.which("rabbitmqctl"):
            # a private vhost, so the contract's fixed queue names never meet those of a
            # connector running on this machine (`make run`) or of another test run
            amqp = stack.enter_context(private_vhost(amqp))
        missing = [name for name, url in (("PostgreSQL", postgres), ("RabbitMQ", amqp)) if url is None]
        if missing:
            raise ServersUnavailableError(
                f"no {' or '.join(missing)} for the tests: set TEST_DATABASE_URL / TEST_AMQP_URL, "
                "start the local servers (127.0.0.1:5432, 127.0.0.1:5672), or install Docker for testcontainers"
            )
        assert postgres is not None
        assert amqp is not None
        yield Servers(postgres_url=postgres, amqp_url=amqp)


@contextmanager
def private_vhost(amqp_url: str) -> Iterator[str]:
    """A vhost made for this run with rabbitmqctl (the local server), deleted afterwards."""
    name = f"bcc-test-{uuid.uuid4().hex[:10]}"
    user = urlsplit(amqp_url).username or "guest"
    subprocess.run(["rabbitmqctl", "add_vhost", name], check=True, capture_output=True)
    try:
        subprocess.run(
            ["rabbitmqctl", "set_permissions", "-p", name, user, ".*", ".*", ".*"],
            check=True,
            capture_output=True,
        )
        yield amqp_url.rstrip("/") + "/" + name
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", name], check=False, capture_output=True)


def with_database(server_url: str, database: str) -> str:
    """The DSN of `database` on the same server as `server_url`."""
    head, _, query = server_url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")
