#!/usr/bin/env bash
# The main job: install, start the server, and have the client translate and
# summarize the seed article. Uses the real models (downloaded on first run where
# the Hugging Face hub is reachable).
#
#   scripts/demo.sh                 # real models
#   scripts/demo.sh --tiny-models   # same path on tiny UNTRAINED models, fully offline
#   scripts/demo.sh --keep          # then keep serving the editor's page until Ctrl+C
#
# Environment: TARJAMA_VENV (default .venv), TARJAMA_PORT (default 50051), TARJAMA_HTTP_PORT
# (default 8080: the page and the JSON API), HF_HOME (model cache), TARJAMA_DEMO_ARTICLE
# (default: the seed article).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${TARJAMA_VENV:-$root/.venv}"
port="${TARJAMA_PORT:-50051}"
http_port="${TARJAMA_HTTP_PORT:-8080}"
article="${TARJAMA_DEMO_ARTICLE:-seeds/000_72c42d5ea82af53c.txt}"
tiny=0
keep=0
label=""
for arg in "$@"; do
  case "$arg" in
    --tiny-models) tiny=1 ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--tiny-models] [--keep]" >&2; exit 2 ;;
  esac
done

bash scripts/install.sh "$venv"
bin="$venv/bin"
server_args=(--port "$port" --http-port "$http_port" --metrics-port 0)
page="http://127.0.0.1:$http_port/"

if [[ $tiny == 1 ]]; then
  label="  [UNTRAINED TINY MODELS: noise, not a translation]"
  "$bin/tarjama-models" build-tiny .tiny-models
  # Tiny matrices gain nothing from a second thread (see tiny_models.TORCH_THREADS).
  server_args+=(--translation-model .tiny-models/marian-ar-en --summarization-model .tiny-models/mt5-summarizer --torch-threads 1)
  cat >&2 <<'BANNER'
################################################################################
##  --tiny-models: the server runs TINY UNTRAINED MODELS with random weights.  ##
##  Everything below is the real service path, but the text it prints is       ##
##  NOISE, not a translation or a summary.                                     ##
################################################################################
BANNER
else
  echo "== fetching the real models (first run only; about 2.6 GB)" >&2
  if ! "$bin/tarjama-models" download; then
    cat >&2 <<'NOHUB'

The real models are not in the local cache and could not be downloaded: this
machine cannot reach the Hugging Face hub (see the messages above).
  - On a connected machine run `tarjama-models download` and copy its cache
    (HF_HOME, default ~/.cache/huggingface) here; or
  - run `scripts/demo.sh --tiny-models` to see the whole system work offline
    on tiny UNTRAINED models (its output is noise).
NOHUB
    exit 1
  fi
  server_args+=(--offline)
fi

log="$(mktemp -t tarjama-server.XXXXXX.log)"
"$bin/tarjama-server" "${server_args[@]}" 2>"$log" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
echo "== server starting (pid $server_pid, log $log)" >&2
client=("$bin/tarjama" --server "127.0.0.1:$port")
# Wait for SERVING (models loaded), but give up at once if the server process died
# (a model it cannot find, a port already taken): its log says why.
ready=0
for _ in $(seq 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server stopped during start-up; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  if "${client[@]}" --timeout 2 health >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 1
done
if [[ $ready != 1 ]]; then
  echo "server did not become ready in 10 minutes; its log:" >&2
  cat "$log" >&2
  exit 1
fi

# The client's warnings (stderr) go with its output, so each stays under its own heading.
echo "== the editor's page: $page  (JSON API: ${page}tarjama.v1.TarjamaService/Translate, described at ${page}openapi.json)"
echo
echo "== models$label"
"${client[@]}" models 2>&1
echo
echo "== translation of $article$label"
"${client[@]}" translate "$article" 2>&1
echo
echo "== English summary$label"
"${client[@]}" summarize --language en "$article" 2>&1
echo
echo "== Arabic summary$label"
"${client[@]}" summarize --language ar "$article" 2>&1
echo
echo "== the editor's page: $page$label"
if [[ $keep == 1 ]]; then
  echo "serving until Ctrl+C (log: $log)"
  wait "$server_pid" || true
else
  echo "(the server stops with this script; run scripts/demo.sh --keep to keep the page open)"
fi
