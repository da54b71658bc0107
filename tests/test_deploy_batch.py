"""The Kubernetes Job of deploy/batch agrees with the servers' manifests and with the CLI:
its command line parses as `tarjama batch`, it dials the headless Service with round-robin,
its files lie on its volume, and a failed pod is started again (the run resumes)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest
from tarjama_client._channel import ConnectionConfig
from tarjama_client.cli import build_parser

from .test_deploy import DEPLOY, OVERLAYS, by_kind, render, the_container

BATCH = DEPLOY / "batch"


@pytest.fixture(scope="module")
def batch() -> list[dict[str, Any]]:
    return render(BATCH)


def the_job(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (job,) = by_kind(documents, "Job")
    return job


def job_container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = the_job(documents)["spec"]["template"]["spec"]["containers"]
    return container


def test_the_job_runs_tarjama_batch(batch) -> None:
    container = job_container(batch)
    assert container["command"][-1] == "tarjama"
    args = build_parser().parse_args(container["args"])
    assert args.command == "batch" and args.concurrency >= 2


def test_the_job_dials_every_server_through_the_headless_service(batch) -> None:
    args = build_parser().parse_args(job_container(batch)["args"])
    servers = render(OVERLAYS[0])
    (headless,) = [s for s in by_kind(servers, "Service") if s["spec"].get("clusterIP") == "None"]
    (port,) = [p["port"] for p in headless["spec"]["ports"] if p["targetPort"] == "grpc"]
    assert args.server.startswith(f"dns:///{headless['metadata']['name']}.")
    assert args.server.endswith(f".svc.cluster.local:{port}")
    assert ConnectionConfig.create(args.server).load_balancing == "round_robin"


def test_input_and_output_lie_on_the_archive_volume(batch) -> None:
    container = job_container(batch)
    args = build_parser().parse_args(container["args"])
    volumes = {v["name"]: v for v in the_job(batch)["spec"]["template"]["spec"]["volumes"]}
    (claim,) = by_kind(batch, "PersistentVolumeClaim")
    for path in (args.input, args.output):
        folders = PurePosixPath(path).parents
        (mount,) = [m for m in container["volumeMounts"] if PurePosixPath(m["mountPath"]) in folders]
        assert not mount.get("readOnly"), "the output is written beside the input"
        assert volumes[mount["name"]]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_a_failed_pod_is_started_again_to_resume(batch) -> None:
    job = the_job(batch)
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_same_image_and_token_as_the_servers(batch) -> None:
    servers = render(OVERLAYS[0])
    server = the_container(servers)
    container = job_container(batch)
    assert container["image"] == server["image"]
    token = {e["name"]: e for e in server["env"]}["TARJAMA_AUTH_TOKEN"]
    assert {e["name"]: e for e in container["env"]} == {"TARJAMA_AUTH_TOKEN": token}
    assert the_job(batch)["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
