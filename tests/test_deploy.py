"""The deployment files agree with the server: every manifest of deploy/ (rendered as
kustomize would), docker-compose.yml, the Prometheus files and the Dockerfile are read
and checked against ``Settings``, the health service names and ``metrics.py``."""

from __future__ import annotations

import copy
import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_server import metrics
from tarjama_server.app import SERVICE_NAME
from tarjama_server.engines.base import Task
from tarjama_server.settings import (
    DEFAULT_SUMMARIZATION_MODEL,
    DEFAULT_TRANSLATION_MODEL,
    ENV_PREFIX,
    Settings,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
OVERLAYS = sorted(path.parent for path in (DEPLOY / "overlays").glob("*/kustomization.yaml"))
SETTING_ENV_NAMES = {ENV_PREFIX + setting.name.upper() for setting in dataclasses.fields(Settings)}
HEALTH_SERVICES = {"", SERVICE_NAME}


# -- kustomize, emulated for the features deploy/ uses -----------------------------------------


def _merge(base: Any, patch: Any) -> Any:
    """Strategic merge as kustomize does it for these files: maps merge key by key, lists of
    maps merge by ``name`` (containers, env, ports; new items go first), other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i for i in patch):
        merged_list = list(base)
        added = []
        for item in patch:
            index = next((i for i, old in enumerate(merged_list) if old.get("name") == item["name"]), None)
            if index is None:
                added.append(item)
            else:
                merged_list[index] = _merge(merged_list[index], item)
        return added + merged_list
    return patch


def _add_labels(document: dict[str, Any], labels: dict[str, str], selectors: bool) -> None:
    document.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    if not selectors:
        return
    spec = document.get("spec", {})
    kind = document["kind"]
    if kind == "Deployment":
        spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(labels)
        spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    elif kind == "Service":
        spec.setdefault("selector", {}).update(labels)
    # Not a PodDisruptionBudget's selector: kustomize leaves it alone, so pdb.yaml states its own.


def render(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    documents: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if path.is_dir():
            documents.extend(render(path))
        else:
            documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for patch_entry in kustomization.get("patches", []):
        patch = yaml.safe_load((directory / patch_entry["path"]).read_text())
        target = next(
            i
            for i, d in enumerate(documents)
            if d["kind"] == patch["kind"] and d["metadata"]["name"] == patch["metadata"]["name"]
        )
        documents[target] = _merge(documents[target], patch)
    for label_set in kustomization.get("labels", []):
        for document in documents:
            _add_labels(document, label_set["pairs"], label_set.get("includeSelectors", False))
    for image in kustomization.get("images", []):
        for document in documents:
            if document["kind"] in ("Deployment", "Job"):
                for container in document["spec"]["template"]["spec"]["containers"]:
                    if container["image"].split(":")[0] == image["name"]:
                        container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return copy.deepcopy(documents)


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


@pytest.fixture(params=OVERLAYS, ids=lambda path: path.name)
def rendered(request) -> list[dict[str, Any]]:
    return render(request.param)


def test_there_is_a_cpu_overlay() -> None:
    assert DEPLOY / "overlays" / "cpu" in OVERLAYS


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed: the emulation is checked elsewhere")
@pytest.mark.parametrize("directory", [DEPLOY / "base", *OVERLAYS], ids=lambda path: path.name)
def test_emulation_matches_kubectl_kustomize(directory: Path) -> None:
    output = subprocess.run(["kubectl", "kustomize", str(directory)], check=True, capture_output=True, text=True)
    real = [d for d in yaml.safe_load_all(output.stdout) if d]

    def key(document: dict[str, Any]) -> tuple[str, str]:
        return document["kind"], document["metadata"]["name"]

    assert sorted(real, key=key) == sorted(render(directory), key=key)


# -- Kubernetes --------------------------------------------------------------------------------


def the_deployment(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = by_kind(documents, "Deployment")
    return deployment


def the_container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = the_deployment(documents)["spec"]["template"]["spec"]["containers"]
    return container


def container_settings(container: dict[str, Any]) -> Settings:
    """The settings the server would run with: the env the manifest sets, read by the server's own loader."""
    env = {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}
    return load_settings([], env=env)


def test_every_kind_is_there(rendered) -> None:
    kinds = {d["kind"] for d in rendered}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds


def test_env_names_are_server_settings(rendered) -> None:
    names = [item["name"] for item in the_container(rendered)["env"]]
    assert len(names) == len(set(names)), "an env var is set twice"
    assert set(names) <= SETTING_ENV_NAMES, set(names) - SETTING_ENV_NAMES


def test_ports_and_probes_follow_the_settings(rendered) -> None:
    container = the_container(rendered)
    settings = container_settings(container)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"grpc": settings.port, "http": settings.http_port, "metrics": settings.metrics_port}
    assert settings.host == "0.0.0.0"  # probes and Services reach the pod's IP, not loopback
    for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container[probe_name]
        assert set(probe) & {"grpc", "exec", "httpGet", "tcpSocket"} == {"grpc"}, probe_name
        assert probe["grpc"]["port"] == settings.port, probe_name
        assert probe["grpc"].get("service", "") in HEALTH_SERVICES, probe_name
    # Readiness asks for the API service itself, so a pod leaves the Service while it drains.
    assert container["readinessProbe"]["grpc"]["service"] == SERVICE_NAME
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, "model loading takes minutes"
    annotations = the_deployment(rendered)["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == settings.metrics_port


def test_replicas_share_one_database(rendered) -> None:
    """SQLite (the image's default) serves one replica: more read the URL of a shared database."""
    (hpa,) = by_kind(rendered, "HorizontalPodAutoscaler")
    assert max(the_deployment(rendered)["spec"]["replicas"], hpa["spec"]["maxReplicas"]) > 1
    env = {item["name"]: item for item in the_container(rendered)["env"]}
    reference = env["TARJAMA_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert reference["name"] == "tarjama-database" and not reference.get("optional", False)


def test_pods_drain_before_they_are_killed(rendered) -> None:
    pod = the_deployment(rendered)["spec"]["template"]["spec"]
    settings = container_settings(the_container(rendered))
    assert pod["terminationGracePeriodSeconds"] > settings.shutdown_grace_seconds


def test_services_reach_the_grpc_port(rendered) -> None:
    deployment = the_deployment(rendered)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    named_ports = {port["name"]: port["containerPort"] for port in the_container(rendered)["ports"]}
    services = by_kind(rendered, "Service")
    for service in services:
        assert service["spec"]["selector"].items() <= pod_labels.items(), service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in named_ports, port
        assert "grpc" in {port["targetPort"] for port in service["spec"]["ports"]}
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    assert len(headless) == 1 and len(services) == 2


def test_hpa_and_pdb_select_the_deployment(rendered) -> None:
    deployment = the_deployment(rendered)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    (hpa,) = by_kind(rendered, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tarjama"}
    assert deployment["metadata"]["name"] == "tarjama"
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    (pdb,) = by_kind(rendered, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def _cpu_cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return int(float(quantity[:-2]) * units[quantity[-2:]]) if quantity[-2:] in units else int(quantity)


def test_resources_are_set_and_torch_uses_the_cores_it_gets(rendered) -> None:
    container = the_container(rendered)
    resources = container["resources"]
    # The HPA's utilization target is a share of the CPU request.
    assert _cpu_cores(resources["requests"]["cpu"]) > 0
    assert _bytes(resources["limits"]["memory"]) >= _bytes(resources["requests"]["memory"])
    # torch starts one thread per core of the node, not of the pod: pin it to the CPU limit.
    assert container_settings(container).torch_threads == int(_cpu_cores(resources["limits"]["cpu"]))


def test_images_are_set_by_the_overlay(rendered) -> None:
    image = the_container(rendered)["image"]
    assert ":" in image and not image.endswith(":latest")


# -- docker-compose.yml, Prometheus, Dockerfile ------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _without_interpolation(value: str) -> str:
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def test_compose_matches_the_server_settings() -> None:
    service = compose()["services"]["tarjama"]
    env = {name: _without_interpolation(value) for name, value in service["environment"].items()}
    assert set(env) <= SETTING_ENV_NAMES, set(env) - SETTING_ENV_NAMES
    settings = load_settings([], env=env)
    container_ports = {int(mapping.split(":")[-1]) for mapping in service["ports"]}
    assert container_ports == {settings.port, settings.http_port, settings.metrics_port}
    assert "models:/models" in service["volumes"]
    assert f"data:{dockerfile_env()['TARJAMA_DATA_DIR']}" in service["volumes"], "the SQLite database in a volume"
    assert service["build"]["target"] in dockerfile_stages()


def test_compose_postgres_is_a_profile_the_server_waits_for() -> None:
    services = compose()["services"]
    postgres = services["postgres"]
    assert postgres["profiles"] == ["postgres"]  # off by default: SQLite, nothing to install
    # Named in the URL that docker-compose.yml's header and docs/operations.md give.
    header = (ROOT / "docker-compose.yml").read_text()
    (url,) = set(re.findall(r"TARJAMA_DATABASE_URL=(\S+)", header))
    pg_env = postgres["environment"]
    assert url == f"postgresql://{pg_env['POSTGRES_USER']}:$POSTGRES_PASSWORD@postgres:5432/{pg_env['POSTGRES_DB']}"
    assert url in (ROOT / "docs" / "operations.md").read_text()
    assert services["tarjama"]["depends_on"]["postgres"] == {"condition": "service_healthy", "required": False}
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])


def test_prometheus_scrapes_the_metrics_port_and_loads_the_rules() -> None:
    env = {
        name: _without_interpolation(value) for name, value in compose()["services"]["tarjama"]["environment"].items()
    }
    settings = load_settings([], env=env)
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == [f"tarjama:{settings.metrics_port}"]
    # Files mounted into the Prometheus container: container path -> file in the repository.
    mounted = {}
    for volume in compose()["services"]["prometheus"]["volumes"]:
        host, container = volume.split(":")[:2]
        if host.startswith("./"):
            mounted[container] = ROOT / host
    assert mounted["/etc/prometheus/prometheus.yml"] == DEPLOY / "prometheus" / "prometheus.yml"
    for rule_file in config["rule_files"]:
        assert mounted[rule_file].is_file(), rule_file


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def dockerfile_stages() -> list[str]:
    return [args.split()[-1] for op, args in dockerfile_instructions() if op == "FROM" and " AS " in args]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, args in dockerfile_instructions():
        if op == "ENV":
            env.update(re.findall(r"(\S+?)=(\S+)", args))
    return env


def test_dockerfile_env_ports_and_volume() -> None:
    env = dockerfile_env()
    tarjama_env = {name for name in env if name.startswith(ENV_PREFIX)}
    assert tarjama_env <= SETTING_ENV_NAMES, tarjama_env - SETTING_ENV_NAMES
    assert env["HF_HUB_OFFLINE"] == "1"
    exposed = {args for op, args in dockerfile_instructions() if op == "EXPOSE"}
    assert exposed == {f"{env['TARJAMA_PORT']} {env['TARJAMA_HTTP_PORT']} {env['TARJAMA_METRICS_PORT']}"}
    volumes = [args for op, args in dockerfile_instructions() if op == "VOLUME"]
    assert volumes == [f'["{env["HF_HOME"]}", "{env["TARJAMA_DATA_DIR"]}"]']
    # The baked models must not sit under the volume, or a mounted cache would hide them.
    for baked in ("TARJAMA_CACHE_DIR", "TARJAMA_CTRANSLATE2_DIR"):
        assert not env[baked].startswith(env["HF_HOME"].rstrip("/") + "/"), baked
    assert dockerfile_stages()[-1] == "with-models"  # the default build bakes the models


def test_healthcheck_reads_real_settings() -> None:
    script = (ROOT / "scripts" / "healthcheck.sh").read_text()
    named = set(re.findall(r"\bTARJAMA_[A-Z0-9_]*[A-Z0-9]\b", script))
    assert {"TARJAMA_PORT", "TARJAMA_TLS_CERT"} <= named <= SETTING_ENV_NAMES


def test_dockerfile_model_arguments_default_to_the_servers_models() -> None:
    defaults = {}
    for op, args in dockerfile_instructions():
        if op == "ARG" and "=" in args:
            name, value = args.split("=", 1)
            assert defaults.setdefault(name, value) == value, f"ARG {name} has two defaults"
    assert defaults["TRANSLATION_MODEL"] == DEFAULT_TRANSLATION_MODEL
    assert defaults["SUMMARIZATION_MODEL"] == DEFAULT_SUMMARIZATION_MODEL


def test_dockerfile_installs_with_the_ci_script_and_runs_under_tini() -> None:
    instructions = dockerfile_instructions()
    assert any(op == "RUN" and "scripts/install.sh /opt/venv" in args for op, args in instructions)
    (entrypoint,) = [args for op, args in instructions if op == "ENTRYPOINT"]
    assert entrypoint.startswith('["tini", "--",')
    (healthcheck,) = [args for op, args in instructions if op == "HEALTHCHECK"]
    assert "tarjama-healthcheck" in healthcheck
    assert any(op == "RUN" and "tarjama-models verify" in args for op, args in instructions)


# -- alert rules -------------------------------------------------------------------------------

_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"), "gauge": ("",)}


def exported_metrics() -> dict[str, tuple[str, ...]]:
    """Every series name metrics.py exports, with its label names."""
    exported: dict[str, tuple[str, ...]] = {}
    for value in vars(metrics).values():
        if hasattr(value, "_labelnames") and hasattr(value, "describe"):
            for family in value.describe():
                for suffix in _SUFFIXES[family.type]:
                    exported[family.name + suffix] = tuple(value._labelnames)
    return exported


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


ALLOWED_LABEL_VALUES = {
    "code": {code.name for code in grpc.StatusCode},
    "method": set(pb.DESCRIPTOR.services_by_name["TarjamaService"].methods_by_name),
    "task": {task.value for task in Task},
}


def test_exported_metrics_are_read_from_metrics_py() -> None:
    exported = exported_metrics()
    assert "tarjama_requests_total" in exported and "tarjama_request_seconds_bucket" in exported
    assert exported["tarjama_requests_total"] == ("method", "code", "protocol")


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_rules_use_real_metrics_and_labels(rule: dict[str, Any]) -> None:
    exported = exported_metrics()
    expression = rule["expr"]
    names = set(re.findall(r"\btarjama_[a-z_]+\b", expression))
    assert names or "up{" in expression, "the rule reads no Tarjama metric"
    assert names <= set(exported), names - set(exported)
    for name, matchers in re.findall(r"\b(tarjama_[a-z_]+)\{([^}]*)\}", expression):
        for label, operator, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', matchers):
            assert label in exported[name], f"{name} has no label {label}"
            values = value.split("|") if "~" in operator else [value]
            assert set(values) <= ALLOWED_LABEL_VALUES[label], f"{label}: {set(values) - ALLOWED_LABEL_VALUES[label]}"
    for label in re.findall(r"\bby \(([^)]*)\)", expression):
        for name in (part.strip() for part in label.split(",")):
            assert name in {"instance", "job", "le"} or any(name in labels for labels in exported.values()), name
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert rule["annotations"]["summary"]
