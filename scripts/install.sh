#!/usr/bin/env bash
# Install the Tarjama server (and client) into a virtual environment.
# The Dockerfile runs exactly this script, and so does CI (via scripts/test.sh).
#
#   scripts/install.sh [VENV_DIR] [--editable]
#
# torch is pinned to 2.13.0 and installed first: an unpinned torch pulls a
# multi-GB CUDA build. Set PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
# where the CPU wheel is not already on a local find-links path (the Dockerfile does).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/.venv}"
editable=()
[[ "${2:-}" == "--editable" ]] && editable=(--editable)

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --constraint "$root/constraints.txt" "torch==2.13.0"
"$venv/bin/python" -m pip install --quiet --constraint "$root/constraints.txt" "${editable[@]}" "$root[server,ctranslate2]"
echo "installed tarjama-server, tarjama-models and tarjama into $venv"
