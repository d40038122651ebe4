"""Building deploy/Dockerfile with buildah on a Debian bookworm base made by mmdebstrap (no registry needed).

The base image is cached in buildah's local storage under a tag naming its recipe and the ISO week,
so it is made once a week per machine (security updates arrive weekly at most); the service images
reuse their dependency layers (`--layers`) and uv's cache mount between runs.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IGNOREFILE = ROOT / "deploy" / "Dockerfile.dockerignore"
SUITE = "bookworm"
# python3.11 and its venv module (uv's own venv), useradd (the image's user), TLS roots (PyPI)
BASE_PACKAGES = ("python3.11", "python3.11-venv", "passwd", "ca-certificates")
BUILD_TIMEOUT_S = 900
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def require_tools() -> None:
    """Skip with the reason where buildah or mmdebstrap is missing; in CI (which installs them) fail."""
    missing = [tool for tool in ("buildah", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        message = (
            f"{' and '.join(missing)} not installed (apt-get install buildah mmdebstrap): image not built"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def buildah(*args: str, timeout_s: float = 120) -> str:
    result = subprocess.run(
        ["buildah", *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"buildah {args[0]} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout.strip()


def image_exists(reference: str) -> bool:
    return (
        subprocess.run(
            ["buildah", "inspect", "--type", "image", reference], capture_output=True, check=False
        ).returncode
        == 0
    )


# Certificate authorities this machine adds to Debian's (a TLS-inspecting egress proxy, say): the
# base trusts them too, so pip and uv reach PyPI from inside the build as they do from the host.
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _local_cas() -> list[Path]:
    return sorted(LOCAL_CAS.glob("*.crt")) if LOCAL_CAS.is_dir() else []


def _apt_sources() -> list[str]:
    """This machine's apt sources when they are bookworm's (its mirror or proxy); else mmdebstrap's defaults."""
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if path.is_file() and SUITE in path.read_text(encoding="utf-8", errors="replace"):
            return [str(path)]
    return []


def base_image() -> str:
    """The local bookworm + python3.11 base, made with mmdebstrap from this machine's apt sources if missing."""
    year, week, _ = datetime.date.today().isocalendar()
    cas = hashlib.sha256(b"".join(path.read_bytes() for path in _local_cas())).hexdigest()
    recipe = f"{SUITE} minbase {' '.join(BASE_PACKAGES)} {year}-W{week:02d} {cas}"
    reference = f"localhost/clickdrop-bookworm-python:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    if image_exists(reference):
        return reference
    with tempfile.TemporaryDirectory(prefix="bcc-base-") as directory:
        tarball = Path(directory) / "rootfs.tar"
        subprocess.run(
            [
                "mmdebstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                SUITE,
                str(tarball),
                *_apt_sources(),
            ],
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=BUILD_TIMEOUT_S,
        )
        container = buildah("from", "scratch")
        try:
            buildah("add", container, str(tarball), "/", timeout_s=300)
            for path in _local_cas():
                buildah("copy", container, str(path), f"{LOCAL_CAS}/{path.name}")
            if _local_cas():
                buildah("run", "--isolation", "chroot", container, "--", "update-ca-certificates")
            # pip and uv read these (they bundle their own roots otherwise)
            env = [f"PATH={BASE_PATH}", f"SSL_CERT_FILE={CA_BUNDLE}", f"PIP_CERT={CA_BUNDLE}"]
            buildah(
                "config", *(arg for var in env for arg in ("--env", var)), "--cmd", "python3.11", container
            )
            buildah("commit", "--rm", container, reference, timeout_s=300)
        except BaseException:
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
            raise
    return reference


def build_service_image(package: str, base: str) -> str:
    """deploy/Dockerfile built for one workspace member on `base`, as CI builds it."""
    reference = f"localhost/bigcommerce-{package}:test"
    buildah(
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "--pull=never",
        "--ignorefile",
        str(IGNOREFILE),
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--build-arg",
        f"PACKAGE={package}",
        "--file",
        str(DOCKERFILE),
        "--tag",
        reference,
        str(ROOT),
        timeout_s=BUILD_TIMEOUT_S,
    )
    return reference
