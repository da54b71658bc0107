"""Client-side round-robin: one channel, calls spread over every address of the target
(as with ``dns:///tarjama-headless:50051`` on Kubernetes), here two loopback servers."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from tarjama_client import TarjamaClient
from tarjama_client._channel import ConnectionConfig

from .helpers import ServerThread, tiny_settings

CALLS = 40


@pytest.fixture(scope="module")
def two_servers(models_dir, tmp_path_factory):
    # The second server loads a copy of the model from another directory, so ListModels
    # (whose model id is the directory) tells the servers apart.
    copy = tmp_path_factory.mktemp("second") / "marian-copy"
    shutil.copytree(models_dir / "marian-ar-en", copy)
    first = ServerThread(tiny_settings(models_dir, summarization_model="none"))
    second = ServerThread(
        tiny_settings(
            models_dir, summarization_model="none", translation_model=str(copy), max_connection_age_seconds=3600
        )
    )
    with first.start(), second.start():
        yield first, second


def answering_models(target: str, load_balancing: str = "") -> Counter[str]:
    with TarjamaClient(target, timeout=60, load_balancing=load_balancing) as client:
        client.wait_until_ready(timeout=60)
        return Counter(client.list_models()[0].id for _ in range(CALLS))


def test_round_robin_reaches_every_address(two_servers) -> None:
    first, second = two_servers
    expected = {first.settings.translation_model, second.settings.translation_model}
    seen: set[str] = set()
    # round_robin is the default for ipv4: targets. It calls only connected addresses, so a
    # loaded machine may answer the first calls from one server: stop once both answered.
    with TarjamaClient(f"ipv4:127.0.0.1:{first.port},127.0.0.1:{second.port}", timeout=60) as client:
        client.wait_until_ready(timeout=60)
        for _ in range(500):
            seen.add(client.list_models()[0].id)
            if seen == expected:
                break
    assert seen == expected


def test_pick_first_sticks_to_one_address(two_servers) -> None:
    first, second = two_servers
    seen = answering_models(f"ipv4:127.0.0.1:{first.port},127.0.0.1:{second.port}", "pick_first")
    assert len(seen) == 1 and sum(seen.values()) == CALLS


@pytest.mark.parametrize(
    ("target", "policy"),
    [
        ("dns:///tarjama-headless.default.svc.cluster.local:50051", "round_robin"),
        ("ipv4:10.0.0.1:50051,10.0.0.2:50051", "round_robin"),
        ("localhost:50051", "pick_first"),
        ("tarjama:50051", "pick_first"),
    ],
)
def test_default_policy_follows_the_target(target: str, policy: str) -> None:
    config = ConnectionConfig.create(target)
    assert config.load_balancing == policy
    assert config.service_config() == {"loadBalancingConfig": [{policy: {}}]}


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="round_robin"):
        ConnectionConfig.create("localhost:1", load_balancing="random")


def test_cli_passes_the_policy_on(two_servers, capsys, monkeypatch) -> None:
    from tarjama_client import cli

    chosen = []
    real_client = cli.TarjamaClient

    def recording_client(*args, **kwargs):
        chosen.append(kwargs["load_balancing"])
        return real_client(*args, **kwargs)

    monkeypatch.setattr(cli, "TarjamaClient", recording_client)
    first, second = two_servers
    target = f"ipv4:127.0.0.1:{first.port},127.0.0.1:{second.port}"
    assert cli.main(["--server", target, "--load-balancing", "pick_first", "health"]) == 0
    assert cli.main(["--server", target, "health"]) == 0
    assert chosen == ["pick_first", ""]  # "" = the default for the target: round_robin for ipv4:
    assert capsys.readouterr().out.split() == ["SERVING", "SERVING"]
