"""The deploy/ manifests and image build keep to CONTRACT §2 and §6 (parsed YAML, no cluster)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from common.settings import BigCommerceSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAYS = ("staging", "production")

# CONTRACT §2: each service's HTTP_PORT default.
SERVICE_PORTS = {"auth-gateway": 8080, "order-poller": 8081, "status-writer": 8082}
# CONTRACT §2: every non-secret variable (HTTP_PORT aside: per service) and its default.
CONTRACT_CONFIG = {
    "AMQP_EXCHANGE": "clickdrop.events",
    "BIGCOMMERCE_API_URL": "https://api.bigcommerce.com",
    "BIGCOMMERCE_LOGIN_URL": "https://login.bigcommerce.com",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8080",
    "CLICKDROP_APP_URL": "http://127.0.0.1:8080",
    "POLL_INTERVAL_MIN_SECONDS": "600",
    "POLL_INTERVAL_MAX_SECONDS": "900",
    "ORDER_MAX_AGE_DAYS": "7",
    "FLUSH_INTERVAL_SECONDS": "1800",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
}
SECRET_VARIABLES = {
    "BIGCOMMERCE_CLIENT_ID",
    "BIGCOMMERCE_CLIENT_SECRET",
    "TOKEN_ENCRYPTION_KEYS",
    "INTERNAL_API_TOKENS",
    "DATABASE_URL",
    "MIGRATION_DATABASE_URL",
    "AMQP_URL",
}
# Least privilege: the one variable a pod reads from a Secret key of another name.
RENAMED_SECRETS = {("bigcommerce-connector-migrate", "DATABASE_URL"): "MIGRATION_DATABASE_URL"}
PACKAGES = ("auth-gateway", "order-poller", "status-writer", "connector")


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def base_resources() -> list[dict[str, Any]]:
    return [doc for path in sorted(BASE.glob("*.yaml")) for doc in load_documents(path)]


def kind(name: str) -> list[dict[str, Any]]:
    return [doc for doc in base_resources() if doc["kind"] == name]


def one(kind_name: str, name: str) -> dict[str, Any]:
    (found,) = [doc for doc in kind(kind_name) if doc["metadata"]["name"] == name]
    return found


def configmap_data() -> dict[str, str]:
    return one("ConfigMap", "bigcommerce-connector-config")["data"]


def container_of(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def resolve_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


def test_kustomization_lists_every_file_in_base() -> None:
    listed = load_documents(BASE / "kustomization.yaml")[0]["resources"]
    present = sorted(p.name for p in BASE.glob("*.y*ml") if p.name != "kustomization.yaml")
    assert sorted(listed) == present


def test_every_base_resource_is_labelled_part_of_the_connector() -> None:
    for doc in base_resources():
        if doc["kind"] == "Kustomization":
            continue
        labels = doc["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "bigcommerce-connector", doc["metadata"]


@pytest.mark.parametrize(("service", "port"), sorted(SERVICE_PORTS.items()))
def test_deployment_probes_point_at_health_routes_on_http_port(service: str, port: int) -> None:
    deployment = one("Deployment", service)
    container = container_of(deployment)
    assert env_of(container)["HTTP_PORT"]["value"] == str(port)
    liveness = container["livenessProbe"]["httpGet"]
    readiness = container["readinessProbe"]["httpGet"]
    assert liveness["path"] == "/healthz"
    assert readiness["path"] == "/readyz"
    assert resolve_port(container, liveness["port"]) == port
    assert resolve_port(container, readiness["port"]) == port
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_deployment_drains_within_the_termination_grace_period(service: str) -> None:
    pod = one("Deployment", service)["spec"]["template"]["spec"]
    pre_stop = container_of(one("Deployment", service))["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    shutdown_grace_s = float(configmap_data()["SHUTDOWN_GRACE_S"])
    assert shutdown_grace_s == ServiceSettings.model_fields["shutdown_grace_s"].default
    assert pod["terminationGracePeriodSeconds"] > 20
    assert pod["terminationGracePeriodSeconds"] > shutdown_grace_s + float(pre_stop[1])


@pytest.mark.parametrize("workload", ["Deployment", "Job"])
def test_workloads_set_resources_and_a_locked_down_security_context(workload: str) -> None:
    for doc in kind(workload):
        pod = doc["spec"]["template"]["spec"]
        container = container_of(doc)
        for section in ("requests", "limits"):
            assert set(container["resources"][section]) >= {"cpu", "memory"}, doc["metadata"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]


def test_configmap_holds_every_contract_variable_with_its_default() -> None:
    data = configmap_data()
    assert {key: data.get(key) for key in CONTRACT_CONFIG} == CONTRACT_CONFIG
    assert not SECRET_VARIABLES & set(data), "secrets belong in the Secret"
    # The shared settings' own defaults agree with the ConfigMap.
    fields = BigCommerceSettings.model_fields
    assert data["AMQP_EXCHANGE"] == fields["amqp_exchange"].default
    assert data["BIGCOMMERCE_API_URL"] == fields["bigcommerce_api_url"].default
    assert data["BIGCOMMERCE_LOGIN_URL"] == fields["bigcommerce_login_url"].default
    assert data["LOG_LEVEL"] == fields["log_level"].default
    assert data["LOG_FORMAT"] == fields["log_format"].default


def test_every_pod_reads_the_configmap_and_only_known_secret_keys() -> None:
    for doc in [*kind("Deployment"), *kind("Job")]:
        container = container_of(doc)
        assert {"configMapRef": {"name": "bigcommerce-connector-config"}} in container["envFrom"]
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert ref["name"] == "bigcommerce-connector-secrets"
                assert ref["key"] in SECRET_VARIABLES
                renamed = RENAMED_SECRETS.get((doc["metadata"]["name"], item["name"]))
                assert ref["key"] == (renamed or item["name"])


def secret_keys(doc: dict[str, Any]) -> set[str]:
    return {
        item["valueFrom"]["secretKeyRef"]["key"]
        for item in container_of(doc).get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }


def test_each_pod_gets_only_the_secrets_it_reads() -> None:
    # only the gateway verifies BigCommerce's callbacks (CONTRACT §2); only the Job owns the schema
    service_secrets = SECRET_VARIABLES - {"MIGRATION_DATABASE_URL"}
    assert secret_keys(one("Deployment", "auth-gateway")) == service_secrets
    for worker in ("order-poller", "status-writer"):
        assert secret_keys(one("Deployment", worker)) == service_secrets - {
            "BIGCOMMERCE_CLIENT_SECRET",
            "INTERNAL_API_TOKENS",
        }
    job = one("Job", "bigcommerce-connector-migrate")
    assert secret_keys(job) == {"MIGRATION_DATABASE_URL"}
    assert env_of(container_of(job))["DATABASE_APP_ROLE"]["value"] == "bigcommerce_connector_app"


def test_secret_template_names_every_secret_variable_with_placeholders_only() -> None:
    (secret,) = load_documents(K8S / "secret.template.yaml")
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == "bigcommerce-connector-secrets"
    assert set(secret["stringData"]) == SECRET_VARIABLES
    for key, value in secret["stringData"].items():
        assert "REPLACE" in value, key
    assert not [doc for doc in base_resources() if doc["kind"] == "Secret"]


def test_migration_job_runs_connector_migrate_before_the_deployments() -> None:
    job = one("Job", "bigcommerce-connector-migrate")
    container = container_of(job)
    assert container["image"] == "bigcommerce-connector"
    assert container["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    phase = "bigcommerce-connector/rollout-phase"
    assert phase not in job["metadata"]["labels"]
    for deployment in kind("Deployment"):
        assert deployment["metadata"]["labels"][phase] == "after-migration"


def test_gateway_runs_two_replicas_and_workers_autoscale() -> None:
    assert one("Deployment", "auth-gateway")["spec"]["replicas"] >= 2
    for service in ("order-poller", "status-writer"):
        # The HPA owns the replica count; a replicas field would reset it on every apply.
        assert "replicas" not in one("Deployment", service)["spec"]
        target = one("HorizontalPodAutoscaler", service)["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", service)


def test_every_deployment_has_a_disruption_budget_selecting_its_pods() -> None:
    for deployment in kind("Deployment"):
        name = deployment["metadata"]["name"]
        selector = one("PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()


def test_public_ingress_routes_only_callbacks_over_tls_and_internal_only_the_api() -> None:
    def paths(ingress: dict[str, Any]) -> set[str]:
        return {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}

    public = one("Ingress", "auth-gateway-public")
    internal = one("Ingress", "auth-gateway-internal")
    assert paths(public) == {"/bigcommerce"}
    assert paths(internal) == {"/api/v1"}
    assert public["spec"]["tls"]
    assert public["spec"]["ingressClassName"] != internal["spec"]["ingressClassName"]
    service = one("Service", "auth-gateway")
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "auth-gateway"}


def test_network_policies_open_datastores_dns_and_https_egress() -> None:
    ports = {
        (port["protocol"], port["port"])
        for policy in kind("NetworkPolicy")
        for rule in policy["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }
    assert ports >= {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 5672), ("TCP", 443)}
    deny = one("NetworkPolicy", "bigcommerce-connector-default-deny")["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny


def test_dockerfile_syncs_one_locked_member_and_runs_unprivileged() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    syncs = re.findall(r"uv sync [^\n\\]*", dockerfile)
    assert syncs
    for sync in syncs:
        assert {"--locked", "--no-dev", "--no-editable"} <= set(sync.split()), sync
        assert '--package "$PACKAGE"' in sync
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["/app/entrypoint"\]', dockerfile, re.MULTILINE)
    assert not re.search(r"^(ENV|ARG)\b.*(SECRET|PASSWORD|TOKEN|DATABASE_URL|AMQP_URL)", dockerfile, re.M)
    # --locked needs every workspace member's metadata in the dependency layer.
    members = sorted(p.parent.relative_to(ROOT) for p in ROOT.glob("*/*/pyproject.toml"))
    for member in members:
        assert f"COPY {member}/pyproject.toml" in dockerfile, member


def test_every_package_has_a_console_script_the_image_can_run() -> None:
    listed = {
        line.split("=")[0].strip()
        for path in ROOT.glob("*/*/pyproject.toml")
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"^[a-z-]+ = \"[a-z_]+\.__main__:main\"$", line)
    }
    assert listed >= set(PACKAGES)


def test_compose_serves_the_default_local_servers_on_loopback() -> None:
    services = load_documents(DEPLOY / "compose.yaml")[0]["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert "127.0.0.1:5432:5432" in services["postgres"]["ports"]
    assert services["postgres"]["environment"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert "127.0.0.1:5672:5672" in services["rabbitmq"]["ports"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_sets_images_replicas_and_existing_patches(overlay: str) -> None:
    directory = K8S / "overlays" / overlay
    kustomization = load_documents(directory / "kustomization.yaml")[0]
    assert kustomization["resources"] == ["../../base"]
    assert kustomization["namespace"]
    images = {image["name"]: image for image in kustomization["images"]}
    assert set(images) == {f"bigcommerce-{package}" for package in PACKAGES}
    assert all(image["newTag"] for image in images.values())
    replicas = {item["name"]: item["count"] for item in kustomization["replicas"]}
    assert replicas["auth-gateway"] >= 2
    for patch in kustomization["patches"]:
        assert (directory / patch["path"]).is_file(), patch


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_with_kustomize(overlay: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: overlay rendering not checked")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    namespaces = {doc["metadata"].get("namespace") for doc in docs}
    assert len(namespaces) == 1
    assert None not in namespaces
    (config,) = [doc for doc in docs if doc["kind"] == "ConfigMap"]
    assert config["data"]["PUBLIC_BASE_URL"].startswith("https://")
    (public,) = [d for d in docs if d["kind"] == "Ingress" and d["metadata"]["name"].endswith("public")]
    public_host = public["spec"]["rules"][0]["host"]
    assert config["data"]["PUBLIC_BASE_URL"] == f"https://{public_host}"
    assert public_host in public["spec"]["tls"][0]["hosts"]
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            image = container_of(doc)["image"]
            assert re.fullmatch(r"[a-z0-9.-]+(/[a-z0-9._-]+)+:[\w.-]+", image), image
