"""deploy/Dockerfile builds, holds only the service, and each service starts from its image until /readyz answers.

Built with `buildah bud --isolation chroot` on a bookworm base made by mmdebstrap (tests/support/image.py),
run with `buildah run --isolation chroot --network host` against the local PostgreSQL (the test's own
database, as the DML-only role `connector migrate` grants) and RabbitMQ (the run's private vhost).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aio_pika.abc import AbstractRobustConnection
from common.amqp import Topology
from common.crypto import generate_key
from common.db.migrate import migrate

from tests.integration.e2e.rig import delete_contract_queues
from tests.support.image import base_image, build_service_image, buildah, require_tools
from tests.support.roles import temporary_role, with_user
from tests.support.servers import Servers
from tests.support.waiting import eventually, free_port

# building three images on a cold cache takes minutes (nothing in them is timed)
pytestmark = [pytest.mark.image, pytest.mark.timeout(1800)]

SERVICES = {"auth-gateway": "auth_gateway", "order-poller": "order_poller", "status-writer": "status_writer"}
# what must never ship in a service image: tests, the BigCommerce fake, dev tools, uv
FORBIDDEN_MODULES = ("tests", "bigcommerce_sandbox", "connector", "pytest", "hypothesis", "checkov", "uv")
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    require_tools()
    base = base_image()
    return {package: build_service_image(package, base) for package in SERVICES}


@dataclass
class Container:
    name: str
    log: Path
    process: subprocess.Popen[bytes] | None = None


def run_in(container: str, *command: str) -> str:
    return buildah("run", "--isolation", "chroot", container, "--", *command)


@pytest.fixture
def containers(images: dict[str, str]) -> Iterator[dict[str, str]]:
    made: dict[str, str] = {}
    try:
        for package, image in images.items():
            made[package] = buildah("from", "--pull-never", image)
        yield made
    finally:
        for container in made.values():
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


def test_each_image_holds_its_entry_point_and_nothing_of_tests_or_the_sandbox(
    images: dict[str, str], containers: dict[str, str]
) -> None:
    for package, image in images.items():
        config = json.loads(buildah("inspect", "--type", "image", image))["OCIv1"]["config"]
        assert config["Entrypoint"] == ["/app/entrypoint"]
        assert config["User"] == "10001:10001"
        assert not any(var.split("=")[0] in {"DATABASE_URL", "AMQP_URL"} for var in config.get("Env", []))
        container = containers[package]
        assert run_in(container, "readlink", "-f", "/app/entrypoint") == f"/app/.venv/bin/{package}"
        assert run_in(container, "id", "-u") == "10001"
        probe = (
            "import importlib.util as u, json; "
            f"print(json.dumps({{m: u.find_spec(m) is not None for m in {list(FORBIDDEN_MODULES)!r} + ['{SERVICES[package]}', 'common']}}))"
        )
        found = json.loads(run_in(container, "/app/.venv/bin/python", "-c", probe))
        assert found.pop(SERVICES[package]) is True
        assert found.pop("common") is True
        assert {module for module, present in found.items() if present} == set(), package
        # no source tree, tests or build tools beside the virtual environment
        assert run_in(container, "ls", "/app").split() == ["entrypoint"]
        assert (
            "No such file"
            in subprocess.run(
                ["buildah", "run", "--isolation", "chroot", container, "--", "ls", "/src", "/opt/uv"],
                capture_output=True,
                text=True,
                check=False,
            ).stderr
        )


@pytest.fixture
async def app_database_url(servers: Servers, database_url: str) -> AsyncIterator[str]:
    """The test's database as the services' DML-only role, granted by `connector migrate` as in the Job."""
    async with temporary_role(servers.postgres_url, database_url) as role:
        await migrate(database_url, app_role=role)
        yield with_user(database_url, role)


@pytest.fixture
async def clean_contract_queues(amqp_connection: AbstractRobustConnection) -> AsyncIterator[None]:
    await delete_contract_queues(amqp_connection, leftovers_only=True)
    try:
        yield
    finally:
        await delete_contract_queues(amqp_connection, leftovers_only=False)


def service_environment(database_url: str, amqp_url: str, exchange: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "AMQP_EXCHANGE": exchange,
        "BIGCOMMERCE_CLIENT_ID": "image-test-client",
        "BIGCOMMERCE_CLIENT_SECRET": "image-test-secret-0123456789abcdef0123",
        "BIGCOMMERCE_API_URL": "http://127.0.0.1:9",  # never called: no channel exists
        "BIGCOMMERCE_LOGIN_URL": "http://127.0.0.1:9",
        "TOKEN_ENCRYPTION_KEYS": generate_key(),
        "INTERNAL_API_TOKENS": "image-test-token",
        "HTTP_HOST": "127.0.0.1",
        "LOG_FORMAT": "json",
    }


def start(container: str, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    args = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    for key, value in {**env, "HTTP_PORT": str(port)}.items():
        args += ["--env", f"{key}={value}"]
    with log.open("wb") as output:
        # its own process group, so the service under buildah can be stopped with it
        return subprocess.Popen(
            [*args, container, "--", "/app/entrypoint"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )


def service_pid(buildah_pid: int) -> int:
    """The service under `buildah run` (buildah -> chroot runtime -> chroot exec -> service): the deepest child.

    buildah kills its child rather than passing a SIGTERM on, so the test signals the service
    itself, as Kubernetes signals a container's first process.
    """
    pid = buildah_pid
    while True:
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
        if not children:
            return pid
        pid = children[0]


def stop(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM to the service, SIGKILL to its process group after the grace.

    Returns buildah's exit code (the service's), None when it had to be killed.
    """
    if process.poll() is not None:
        return process.returncode
    os.kill(service_pid(process.pid), signal.SIGTERM)
    try:
        return process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None


async def test_each_service_starts_from_its_image_and_becomes_ready(
    containers: dict[str, str],
    app_database_url: str,
    amqp_url: str,
    topology: Topology,
    clean_contract_queues: None,
    tmp_path: Path,
) -> None:
    env = service_environment(app_database_url, amqp_url, topology.exchange)
    ports = {package: free_port() for package in containers}
    processes = {
        package: start(container, env, ports[package], tmp_path / f"{package}.log")
        for package, container in containers.items()
    }
    try:
        async with aiohttp.ClientSession() as http:
            for package, port in ports.items():

                async def ready(package: str = package, port: int = port) -> bool:
                    if processes[package].poll() is not None:
                        return True  # exited: reported below with its log
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                            return response.status == 200
                    except aiohttp.ClientError:
                        return False

                assert await eventually(ready, timeout_s=READY_TIMEOUT_S), f"{package} never became ready"
                log = (tmp_path / f"{package}.log").read_text(errors="replace")
                assert processes[package].poll() is None, f"{package} exited:\n{log[-3000:]}"
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    assert "connector_ready 1.0" in await response.text()
    finally:
        codes = {package: await asyncio.to_thread(stop, process) for package, process in processes.items()}
    assert codes == dict.fromkeys(containers, 0), {
        package: (tmp_path / f"{package}.log").read_text(errors="replace")[-2000:] for package in containers
    }
