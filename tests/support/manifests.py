"""Rendering deploy/k8s with kustomize (kubectl's built-in), as `kubectl apply -k` would see it."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# what `kubectl apply -k` is pointed at: the base on its own and each environment
TARGETS = {
    "base": K8S / "base",
    "staging": K8S / "overlays" / "staging",
    "production": K8S / "overlays" / "production",
}


def kubectl() -> str:
    """kubectl's path; skips the test with the reason outside CI, fails it in CI (which must check)."""
    found = shutil.which("kubectl")
    if found is None:
        message = "kubectl is not installed: the kustomize rendering of deploy/k8s cannot be checked"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@cache
def _render(path: Path) -> str:
    return subprocess.run(
        [kubectl(), "kustomize", str(path)], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def rendered_text(target: str) -> str:
    """The YAML stream kustomize renders for `target` (a key of TARGETS)."""
    return _render(TARGETS[target])


def rendered(target: str) -> list[dict[str, Any]]:
    """The rendered documents of `target`."""
    return [doc for doc in yaml.safe_load_all(rendered_text(target)) if doc]


def pod_containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container (init containers included) of a workload's pod template; [] for other kinds."""
    template = doc.get("spec", {}).get("template", {})
    if doc.get("kind") == "CronJob":
        template = doc["spec"]["jobTemplate"]["spec"]["template"]
    pod = template.get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]
