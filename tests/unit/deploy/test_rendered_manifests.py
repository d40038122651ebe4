"""deploy/k8s as kustomize renders it: valid against the Kubernetes schemas, Checkov-clean, locked-down pods.

Runs offline: kubectl's built-in kustomize, the schemas shipped in `kubernetes-validate`, and
Checkov with `--skip-download` (no call to any platform).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.manifests import TARGETS, pod_containers, rendered, rendered_text

# The Kubernetes version the manifests target: the oldest minor version still supported upstream
# when this was pinned, and the version of the kubectl that renders them here.
KUBERNETES_VERSION = "1.32.0"

# Custom resources of the Prometheus Operator: kubernetes-validate ships only the built-in kinds;
# tests/unit/deploy/test_alerts.py checks these against the operator's conventions.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "PrometheusRule"), ("monitoring.coreos.com/v1", "PodMonitor")}

# Checkov checks skipped everywhere, each with the reason it does not apply.
SKIPPED_CHECKS = {
    # Image should use a digest: the overlays pin release tags; the release pipeline replaces them
    # with the digest it just pushed (`kustomize edit set image name@sha256:...`), which a commit
    # cannot know in advance.
    "CKV_K8S_43",
    # Secrets as files rather than environment variables: CONTRACT §2 makes every setting, secrets
    # included, an environment variable; each pod gets only the Secret keys it uses (secretKeyRef).
    "CKV_K8S_35",
    # imagePullPolicy Always: images are immutable (release tags, digests at release), so
    # IfNotPresent pulls each once; Always would make every pod restart depend on the registry.
    "CKV_K8S_15",
}
# Only for the base, which is not deployed on its own: an overlay sets the namespace and the tags.
SKIPPED_IN_BASE = {
    "CKV_K8S_21",  # the default namespace: every overlay sets `namespace:`
    "CKV_K8S_14",  # image tag fixed: the base names images without tags; overlays set them
}

CHECKOV = Path(sys.executable).parent / "checkov"


def schema_errors(docs: list[dict[str, Any]]) -> list[str]:
    errors = []
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{name} at {error.json_path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{name}: no schema for {doc['apiVersion']} {doc['kind']} in {KUBERNETES_VERSION}")
    return errors


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_rendered_manifests_are_valid_kubernetes_objects(target: str) -> None:
    docs = rendered(target)
    assert docs
    assert schema_errors(docs) == []


def test_an_invalid_object_is_reported() -> None:
    # the check above can fail: an unknown field and a port given as a word are both refused
    (deployment,) = [
        d
        for d in rendered("production")
        if (d["kind"], d["metadata"]["name"]) == ("Deployment", "order-poller")
    ]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["runAsRoot"] = False
    container["ports"][0]["containerPort"] = "http"
    errors = schema_errors([deployment])
    assert len(errors) == 1
    assert "Deployment/order-poller" in errors[0]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_container_is_unprivileged_with_a_read_only_root(target: str) -> None:
    workloads = [doc for doc in rendered(target) if pod_containers(doc)]
    assert {doc["kind"] for doc in workloads} == {"Deployment", "Job"}
    for doc in workloads:
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert pod["securityContext"]["runAsUser"] != 0
        for container in pod_containers(doc):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, container["name"]
            assert security["allowPrivilegeEscalation"] is False, container["name"]
            assert security["capabilities"] == {"drop": ["ALL"]}, container["name"]
            assert security.get("privileged", False) is False, container["name"]


def checkov_failures(manifests: str, path: Path, skipped: set[str]) -> list[str]:
    path.write_text(manifests, encoding="utf-8")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--file",
            str(path),
            "--framework",
            "kubernetes",
            "--skip-download",  # offline: no guidelines or policies from any platform
            "--skip-check",
            ",".join(sorted(skipped)),
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in {0, 1}, result.stderr[-2000:]  # 1: failed checks, reported below
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    return [
        f"{check['check_id']} {check['check_name']}: {check['resource']}"
        for check in report["results"]["failed_checks"]
    ]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_checkov_finds_nothing_beyond_the_documented_skips(target: str, tmp_path: Path) -> None:
    skipped = SKIPPED_CHECKS | (SKIPPED_IN_BASE if target == "base" else set())
    assert checkov_failures(rendered_text(target), tmp_path / f"{target}.yaml", skipped) == []


def test_checkov_reports_a_writable_root_filesystem(tmp_path: Path) -> None:
    # the scan can fail: the production poller with a writable root filesystem is flagged
    docs = rendered("production")
    for doc in docs:
        for container in pod_containers(doc):
            container["securityContext"]["readOnlyRootFilesystem"] = False
    failures = checkov_failures(yaml.safe_dump_all(docs), tmp_path / "writable.yaml", SKIPPED_CHECKS)
    assert failures
    assert all(failure.startswith("CKV_K8S_22 ") for failure in failures), failures


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_only_the_gateway_receives_the_client_secret(target: str) -> None:
    holders = {
        doc["metadata"]["name"]
        for doc in rendered(target)
        for container in pod_containers(doc)
        for item in container.get("env", [])
        if item.get("valueFrom", {}).get("secretKeyRef", {}).get("key") == "BIGCOMMERCE_CLIENT_SECRET"
        or item["name"] == "BIGCOMMERCE_CLIENT_SECRET"
    }
    assert holders == {"auth-gateway"}
    for doc in rendered(target):
        for container in pod_containers(doc):
            assert "secretRef" not in str(container.get("envFrom", [])), "no pod gets the whole Secret"
