#!/usr/bin/env bash
# Set up and run every check: lint, Dockerfile lint, stale-stub check and the test suite.
# Works on a fresh machine (Python 3.10+); extra arguments go to pytest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${TARJAMA_VENV:-$root/.venv}"

bash scripts/install.sh "$venv"
"$venv/bin/python" -m pip install --quiet --constraint constraints.txt -r requirements-dev.txt

echo "== ruff"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "== hadolint"
"$venv/bin/hadolint" Dockerfile
echo "== pytest"
"$venv/bin/python" -m pytest -rs "$@"
