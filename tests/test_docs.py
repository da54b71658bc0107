"""Generated docs are current, and the docs name only real settings."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

from tarjama_server.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
SETTING_ENV_NAMES = {ENV_PREFIX + setting.name.upper() for setting in dataclasses.fields(Settings)}


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_config_docs", ROOT / "scripts" / "generate_config_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_current() -> None:
    generator = load_generator()
    assert generator.OUTPUT.read_text(encoding="utf-8") == generator.render(), (
        "docs/configuration.md is stale: run python scripts/generate_config_docs.py"
    )


def test_configuration_reference_lists_every_setting() -> None:
    text = load_generator().render()
    for setting in dataclasses.fields(Settings):
        assert f"`{ENV_PREFIX}{setting.name.upper()}`" in text
        assert str(setting.metadata["help"]).replace("|", "\\|") in text


def test_docs_name_only_real_settings() -> None:
    # TARJAMA_SERVER and TARJAMA_SHARDS are the client's, TARJAMA_SCREENSHOTS the page tests'
    # (tests/test_page.py), not the server's; nothing else may be invented.
    from tarjama_client.cli import SHARD_COUNT_ENV

    client_variables = {"TARJAMA_SERVER", "TARJAMA_SCREENSHOTS", SHARD_COUNT_ENV}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        named = set(re.findall(r"\bTARJAMA_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
        assert named <= SETTING_ENV_NAMES | client_variables, f"{path.name}: {named - SETTING_ENV_NAMES}"


def test_the_architecture_names_only_real_modules() -> None:
    """docs/architecture.md follows the code: every module it names exists (in the server package, or from the root)."""
    package = ROOT / "server" / "tarjama_server"
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+\.py)", text))
    assert len(named) > 20
    missing = {name for name in named if not (package / name).is_file() and not (ROOT / name).is_file()}
    assert not missing, f"docs/architecture.md names modules that do not exist: {sorted(missing)}"
