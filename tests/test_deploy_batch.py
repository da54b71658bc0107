"""The Kubernetes Job of deploy/batch agrees with the servers' manifests and with the CLI:
its command line parses as `tarjama batch`, it dials the headless Service with round-robin,
its files lie on its volume, a failed pod is started again (the run resumes), and its pods,
one per index of an Indexed Job, split the archive into shards that cover it once."""

from __future__ import annotations

import argparse
import re
from pathlib import PurePosixPath
from typing import Any

import pytest
from tarjama_client._channel import ConnectionConfig
from tarjama_client.archive import item_key
from tarjama_client.cli import SHARD_COUNT_ENV, SHARD_INDEX_ENV, _shard, build_parser

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


def pod_command_lines(documents: list[dict[str, Any]]) -> list[tuple[list[str], dict[str, str]]]:
    """Each pod's arguments and environment as Kubernetes makes them in an Indexed Job: it sets
    JOB_COMPLETION_INDEX to the pod's index and expands $(NAME) in args from the container's env."""
    job = the_job(documents)
    container = job_container(documents)
    pods = []
    for index in range(job["spec"]["completions"]):
        env = {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}
        env[SHARD_INDEX_ENV] = str(index)

        def expand(name: re.Match[str], env: dict[str, str] = env) -> str:
            return env.get(name[1], name[0])

        pods.append(([re.sub(r"\$\((\w+)\)", expand, arg) for arg in container["args"]], env))
    return pods


def parsed_pods(documents: list[dict[str, Any]]) -> list[tuple[argparse.Namespace, dict[str, str]]]:
    return [(build_parser().parse_args(args), env) for args, env in pod_command_lines(documents)]


def test_the_job_runs_tarjama_batch(batch) -> None:
    container = job_container(batch)
    assert container["command"][-1] == "tarjama"
    for pod_args, _ in pod_command_lines(batch):
        args = build_parser().parse_args(pod_args)
        assert args.command == "batch" and args.concurrency >= 2


def test_an_indexed_job_with_one_shard_and_one_output_per_pod(batch) -> None:
    spec = the_job(batch)["spec"]
    assert spec["completionMode"] == "Indexed"
    assert 1 <= spec["parallelism"] <= spec["completions"]
    pods = pod_command_lines(batch)
    # The shard count the CLI reads is the Job's completions: one shard per index, none left out.
    assert {env[SHARD_COUNT_ENV] for _, env in pods} == {str(spec["completions"])}
    parsed = [build_parser().parse_args(args) for args, _ in pods]
    assert len({args.input for args in parsed}) == 1, "every pod reads the same archive"
    assert len({args.output for args in parsed}) == len(pods), "each shard needs an output of its own"
    assert all("$(" not in args.output for args in parsed), "an unexpanded $(NAME) in --output"


def test_the_pods_shards_cover_an_archive_once(batch) -> None:
    """The shard each pod takes, read by the CLI's own code from its command line and environment."""
    shards = [_shard(args.shard, args.shards, env) for args, env in parsed_pods(batch)]
    ids: list[object] = [f"item-{n}" for n in range(300)] + list(range(300))
    for item_id in ids:
        holders = [shard for shard in shards if shard.holds(item_key(item_id))]
        assert len(holders) == 1, f"{item_id!r} is in {len(holders)} shards"
    assert all(any(shard.holds(item_key(i)) for i in ids) for shard in shards), "a pod with nothing to do"


def test_parallel_pods_can_all_mount_the_archive(batch) -> None:
    (claim,) = by_kind(batch, "PersistentVolumeClaim")
    if the_job(batch)["spec"]["parallelism"] > 1:
        assert "ReadWriteMany" in claim["spec"]["accessModes"], "pods on several nodes at once need ReadWriteMany"


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
    args = build_parser().parse_args(pod_command_lines(batch)[0][0])
    volumes = {v["name"]: v for v in the_job(batch)["spec"]["template"]["spec"]["volumes"]}
    (claim,) = by_kind(batch, "PersistentVolumeClaim")
    for path in (args.input, args.output):
        folders = PurePosixPath(path).parents
        (mount,) = [m for m in container["volumeMounts"] if PurePosixPath(m["mountPath"]) in folders]
        assert not mount.get("readOnly"), "the output is written beside the input"
        assert volumes[mount["name"]]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_a_failed_pod_is_started_again_to_resume(batch) -> None:
    spec = the_job(batch)["spec"]
    assert spec["backoffLimitPerIndex"] >= 1  # a shard that fails is retried on its own
    # podFailurePolicy needs Never: the Job replaces a failed pod, and the new one resumes.
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    actions = {}
    for rule in spec["podFailurePolicy"]["rules"]:
        if "onExitCodes" in rule:
            assert rule["onExitCodes"]["containerName"] == job_container(batch)["name"]
            assert rule["onExitCodes"]["operator"] == "In"
            actions.update(dict.fromkeys(rule["onExitCodes"]["values"], rule["action"]))
    # tarjama batch's exit statuses: 1 (items left: run again) must be retried; 2 (bad command line,
    # input or output) fails every shard alike; 3 (final errors in the shard's lines) fails its index.
    assert 1 not in actions and actions[2] == "FailJob" and actions[3] == "FailIndex"


def test_same_image_and_token_as_the_servers(batch) -> None:
    servers = render(OVERLAYS[0])
    server = the_container(servers)
    container = job_container(batch)
    assert container["image"] == server["image"]
    token = {e["name"]: e for e in server["env"]}["TARJAMA_AUTH_TOKEN"]
    assert {e["name"]: e for e in container["env"]}["TARJAMA_AUTH_TOKEN"] == token
    assert the_job(batch)["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
