"""deploy/k8s: the kustomize base and the production overlay render, pass the Kubernetes schemas
(strict), and say what the issue asks: probes, limits, non-root, read-only root, autoscaling,
disruption budgets, network isolation, secrets by reference, migrations as a Job."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from stationhouse.processes import SERVICES as PROCESS_SPECS

from .conftest import BACKENDS, SERVICES

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"
OVERLAYS = ("base", "overlays/production")


def kustomize_build(path: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        # Not on PyPI: a laptop without it skips these; CI sets STATIONHOUSE_REQUIRE_TOOLS so
        # that there the manifests are always rendered and checked.
        message = "kubectl (with its built-in kustomize) is not installed"
        if os.environ.get("STATIONHOUSE_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request):
    return request.param, kustomize_build(K8S / request.param)


def by_kind(resources, kind):
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def test_every_resource_passes_the_kubernetes_schema_strictly(rendered):
    _, resources = rendered
    assert resources
    for resource in resources:
        # Raises ValidationError (with the failing path) on anything the API would reject.
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_schema_check_rejects_a_broken_manifest(rendered):
    # The check above can fail: an unknown field in a container is refused.
    _, resources = rendered
    deployment = dict(by_kind(resources, "Deployment")["records"])
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_its_own_deployment_with_probes_limits_and_no_root(rendered, service):
    _, resources = rendered
    deployment = by_kind(resources, "Deployment")[service]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    process = next(p for p in PROCESS_SPECS if p.name == service)
    assert container["command"][:4] == ["python", "-m", "servicekit.serve", process.app]
    port = int(container["command"][container["command"].index("--port") + 1])
    assert container["ports"][0]["containerPort"] == port
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    # Draining: the pod gets longer than the drain period to stop.
    drain = float(container["command"][container["command"].index("--drain-seconds") + 1])
    assert pod["terminationGracePeriodSeconds"] > drain
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_scales_and_is_protected_on_its_own(rendered, service):
    _, resources = rendered
    deployment = by_kind(resources, "Deployment")[service]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    svc = by_kind(resources, "Service")[service]
    assert svc["spec"]["selector"].items() <= labels.items()
    hpa = by_kind(resources, "HorizontalPodAutoscaler")[service]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": service,
    }
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = by_kind(resources, "PodDisruptionBudget")[service]
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    # The autoscaler owns the replica count: a fixed one would fight it on every apply.
    assert "replicas" not in deployment["spec"]


def _selects(selector: dict, labels: dict) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get(
        "matchExpressions"
    )


def allowed_sources(resources, target: str) -> set[str]:
    """Which pods (by app name, or '*' for anyone) may connect to `target`'s pods."""
    pods = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for name, d in by_kind(resources, "Deployment").items()
    }
    pods["migrate"] = by_kind(resources, "Job")["migrate"]["spec"]["template"]["metadata"]["labels"]
    policies = [
        p
        for p in by_kind(resources, "NetworkPolicy").values()
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"]["podSelector"], pods[target])
    ]
    assert policies, f"{target} is not covered by any NetworkPolicy (open to all)"
    sources: set[str] = set()
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            if not peers:
                sources.add("*")
                continue
            for peer in peers:
                if "ipBlock" in peer or ("namespaceSelector" in peer and "podSelector" not in peer):
                    sources.add("*outside")
                    continue
                sources |= {
                    n for n, labels in pods.items() if _selects(peer["podSelector"], labels)
                }
    return sources


def test_network_policies_let_only_the_gateway_reach_the_services(rendered):
    overlay, resources = rendered
    deny = by_kind(resources, "NetworkPolicy")["default-deny-ingress"]
    assert deny["spec"]["podSelector"] == {}
    assert "ingress" not in deny["spec"]
    assert allowed_sources(resources, "prediction") == {"gateway"}
    assert allowed_sources(resources, "hotspots") == {"gateway"}
    # records: the gateway, and the two services that read the export feed.
    assert allowed_sources(resources, "records") == {"gateway", "prediction", "hotspots"}
    # auth: the gateway, and every service that fetches JWKS or a service-account token.
    assert allowed_sources(resources, "auth") == {"gateway", "records", "prediction", "hotspots"}
    gateway = allowed_sources(resources, "gateway")
    assert gateway == ({"*"} if overlay == "base" else {"*outside"})
    assert allowed_sources(resources, "migrate") == set()


def test_secrets_are_referenced_never_shipped(rendered):
    _, resources = rendered
    assert not by_kind(resources, "Secret"), "secrets are created in the cluster, not committed"
    referenced = set()
    for workload in [
        *by_kind(resources, "Deployment").values(),
        *by_kind(resources, "Job").values(),
    ]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if "valueFrom" in env:
                    referenced.add(env["valueFrom"]["secretKeyRef"]["name"])
                else:
                    assert not env["name"].endswith(("_SECRET", "_PASSWORD", "_KEY")), env
    assert referenced == {f"{s}-secrets" for s in SERVICES}
    for service in BACKENDS:
        deployment = by_kind(resources, "Deployment")[service]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        from_secret = {e["name"] for e in container["env"] if "valueFrom" in e}
        assert f"{service.upper()}_DATABASE_URL" in from_secret


def test_config_maps_set_only_settings_the_code_reads(rendered, variables):
    _, resources = rendered
    known = {v.name for v in variables}
    secret = {v.name for v in variables if v.secret}
    for name, config_map in by_kind(resources, "ConfigMap").items():
        service = name.removesuffix("-config")
        for key in config_map["data"]:
            assert key in known, f"{name} sets {key}, which no code reads"
            assert key.startswith(service.upper() + "_"), f"{name} sets {key} of another service"
            assert key not in secret, f"{name} holds the secret {key}"
    for workload in by_kind(resources, "Deployment").values():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                assert env["name"] in known, env["name"]


def test_migrations_run_as_a_job_with_every_database(rendered):
    _, resources = rendered
    job = by_kind(resources, "Job")["migrate"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["stationhouse", "migrate"]
    names = {e["name"] for e in container["env"]}
    assert {f"{s.upper()}_DATABASE_URL" for s in BACKENDS} <= names
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["restartPolicy"] in ("OnFailure", "Never")


def test_production_overlay_pins_the_image_and_raises_the_floor():
    base = kustomize_build(K8S / "base")
    production = kustomize_build(K8S / "overlays/production")
    for deployment in by_kind(production, "Deployment").values():
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert ":" in image, image
        assert not image.endswith(":latest"), image
        assert deployment["metadata"]["namespace"] == "stationhouse"
    namespace = by_kind(production, "Namespace")["stationhouse"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    base_hpa = by_kind(base, "HorizontalPodAutoscaler")
    for name, hpa in by_kind(production, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["maxReplicas"] >= base_hpa[name]["spec"]["maxReplicas"]
    ingress = by_kind(production, "Ingress")["gateway"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
