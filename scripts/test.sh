#!/usr/bin/env bash
# Set up and run every check: lint, type check, import contracts, Dockerfile lint, stale-stub check and the test suite.
# Works on a fresh machine (Python 3.10+); extra arguments go to pytest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${TARJAMA_VENV:-$root/.venv}"

bash scripts/install.sh "$venv"
"$venv/bin/python" -m pip install --quiet --constraint constraints.txt -r requirements-dev.txt

if command -v npm >/dev/null; then
  # A Node.js client built only from proto/ checks the API contract from another language.
  npm ci --prefix tests/interop --silent --no-audit --no-fund
else
  echo "npm not found: tests/test_interop.py will be skipped"
fi

apt_updated=""
# debian_install PACKAGE FOR WITHOUT: install Debian's PACKAGE (for the tests FOR) where apt-get can, else say WITHOUT.
debian_install() {
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "== installing Debian's $1 for $2"
    [[ -n "$apt_updated" ]] || apt-get update -qq
    apt_updated=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
  else
    echo "$3"
  fi
}

if [[ ! -x /usr/bin/chromium ]]; then
  # The page's browser tests drive Debian's Chromium (a browser a test tool downloads cannot be fetched here).
  debian_install chromium tests/test_page.py \
    "/usr/bin/chromium not found and cannot apt-get it: tests/test_page.py will be skipped"
fi

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  # The desk's store tests run on SQLite and on a throwaway PostgreSQL cluster they start themselves
  # (tests/postgres.py); Debian's postgresql brings the binaries and the postgres user to run them as.
  debian_install postgresql "tests/test_store.py and tests/test_desk.py" \
    "PostgreSQL not found and cannot apt-get it: the PostgreSQL half of the store tests will be skipped"
fi

echo "== ruff"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "== mypy"
"$venv/bin/mypy"
echo "== lint-imports"
# The layering (docs/architecture.md): the contracts are in pyproject.toml.
"$venv/bin/lint-imports" --no-cache --no-logo
echo "== hadolint"
"$venv/bin/hadolint" Dockerfile
echo "== generated OpenAPI document"
# The HTTP API's description, generated from proto/ (server/tarjama_server/transport/web/openapi.json).
"$venv/bin/python" scripts/generate_openapi.py --check
echo "== tiny Marian trained on the synthetic language pair (word-alignment tests; kept in .tiny-models/)"
# Trained once (seeded, one thread; minutes on a busy 2-core machine), then reused while its recipe is unchanged.
"$venv/bin/tarjama-models" build-synthetic .tiny-models
echo "== pytest"
# --durations: the suite's own budget, the slowest tests printed on every run.
"$venv/bin/python" -m pytest -rs --durations=10 "$@"
