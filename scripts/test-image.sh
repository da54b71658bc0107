#!/usr/bin/env bash
# Build the Dockerfile's images without a Docker engine and run them as an operator would.
# CI runs it after the tests (.ci/run); it needs root (on Debian it installs what it lacks).
#
#   bash scripts/test-image.sh
#
# 1. A Debian base made from Debian's packages by mmdebstrap (python3 3.11, as the official
#    python:3.11-slim-bookworm), cached in $TEST_IMAGE_CACHE keyed by its inputs.
# 2. buildah builds the Dockerfile's targets on it (--build-arg PYTHON_IMAGE=), with pip's
#    sources mounted into the build as docs/operations.md describes for air-gapped builds:
#    the host's local wheel and index directories and its certificate bundle.
# 3. no-models runs as its non-root user with tiny models mounted: health SERVING (also through
#    the image's HEALTHCHECK command), a Translate of the seed over gRPC and over Connect JSON
#    from outside the container, the page, and SIGTERM to tini → exit 0 within the grace period.
# 4. with-models bakes local model directories (LOCAL_MODELS): the bake, `tarjama-models verify`
#    and the CTranslate2 conversion run in the build; the image then starts with nothing to convert.
# It prints each target's size, build time and time from start to SERVING.
#
# Environment: TEST_IMAGE_CACHE (default /var/cache/tarjama-image), TARJAMA_VENV (the host
# client; default .venv, installed by scripts/install.sh when missing), TEST_IMAGE_KEEP=1 keeps
# the storage (printed) for a look afterwards, TEST_IMAGE_WAIT (seconds to wait for SERVING, 600).
set -euo pipefail

# All in one function: bash reads it whole before running, so editing this file never changes a run.
main() {

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${TEST_IMAGE_CACHE:-/var/cache/tarjama-image}"
venv="${TARJAMA_VENV:-$root/.venv}"
serving_wait="${TEST_IMAGE_WAIT:-600}"
grace=10
suite=bookworm
include=python3,python3-venv,ca-certificates
mirrors=(
  "deb http://deb.debian.org/debian $suite main"
  "deb http://deb.debian.org/debian $suite-updates main"
  "deb http://deb.debian.org/debian-security $suite-security main"
)
script_started=$SECONDS

say() { printf '== %s\n' "$*"; }
fail() {
  printf 'test-image: FAILED: %s\n' "$*" >&2
  exit 1
}
elapsed() { echo $((SECONDS - $1)); }

[[ $(id -u) == 0 ]] || fail "needs root (mmdebstrap and buildah's chroot isolation); CI runs as root"

# ---- tools: Debian's buildah and mmdebstrap
if ! command -v buildah >/dev/null || ! command -v mmdebstrap >/dev/null; then
  command -v apt-get >/dev/null || fail "buildah and mmdebstrap are missing and there is no apt-get to install them"
  say "installing Debian's buildah and mmdebstrap"
  # Lock::Timeout: another apt-get may hold the lock for a while; wait for it, boundedly.
  timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends buildah mmdebstrap </dev/null >/dev/null
fi

# ---- a storage of this run's own, removed on exit. overlay where the kernel mounts it (as root);
# else vfs, which needs nothing but copies every layer whole: with a 1.6 GB virtual environment,
# a build took over 20 GB of disk and most of its time copying.
mkdir -p "$cache"
work="$(mktemp -d /var/tmp/tarjama-image.XXXXXX)"
driver=vfs
mkdir -p "$work/probe/lower" "$work/probe/upper" "$work/probe/work" "$work/probe/merged"
if mount -t overlay overlay -o "lowerdir=$work/probe/lower,upperdir=$work/probe/upper,workdir=$work/probe/work" \
  "$work/probe/merged" 2>/dev/null; then
  umount "$work/probe/merged"
  driver=overlay
fi
rm -rf "$work/probe"
cat >"$work/storage.conf" <<EOF
[storage]
driver = "$driver"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
export CONTAINERS_STORAGE_CONF="$work/storage.conf"
# chroot: no runtime (runc, crun) needed; podman-style OCI runtimes fail in this kind of sandbox.
export BUILDAH_ISOLATION=chroot
say "$(buildah --version), mmdebstrap $(mmdebstrap --version | awk '{print $2}'), storage driver $driver"
servers=() # "pid" of each buildah run still going
cleanup() {
  local status=$? pid
  for pid in "${servers[@]}"; do
    [[ -n $pid ]] || continue
    # The server and tini under it first, then the buildah run holding them.
    kill -KILL $(descendants "$pid") "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  buildah rm --all >/dev/null 2>&1 || true
  if [[ ${TEST_IMAGE_KEEP:-0} == 1 ]]; then
    echo "kept: CONTAINERS_STORAGE_CONF=$work/storage.conf buildah images"
  else
    buildah rmi --all --force >/dev/null 2>&1 || true
    # --one-file-system: never follows a mount a killed container may have left behind.
    rm -rf --one-file-system "$work" 2>/dev/null || echo "test-image: could not remove all of $work" >&2
  fi
  if ((status != 0)); then
    echo "test-image: FAILED after $(elapsed "$script_started") s (exit $status)" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every process under $1, children first (no PID namespace with chroot isolation: host PIDs).
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    descendants "$child"
    echo "$child"
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- 1. the base: Debian's python3 from Debian's packages, cached by its inputs
key="$(printf '%s\n' "$(mmdebstrap --version)" minbase "$suite" "$include" "${mirrors[@]}" | sha256sum | cut -c1-16)"
base_tar="$cache/base-$suite-$key.tar"
if [[ ! -s $base_tar ]]; then
  say "making the base with mmdebstrap ($suite minbase + $include) into $base_tar"
  started=$SECONDS
  timeout 900 mmdebstrap --quiet --variant=minbase --include="$include" --format=tar \
    "$suite" "$base_tar.partial" "${mirrors[@]}" </dev/null
  mv "$base_tar.partial" "$base_tar"
  say "base made in $(elapsed "$started") s ($(du -h "$base_tar" | cut -f1))"
else
  say "base from the cache: $base_tar"
fi
base_image="localhost/tarjama-base:$suite-$key"
container="$(buildah from --quiet scratch)"
buildah add --quiet "$container" "$base_tar" / >/dev/null
buildah config --env LANG=C.UTF-8 --cmd python3 "$container"
buildah commit --quiet --rm "$container" "$base_image" >/dev/null
say "base image $base_image: $(buildah run "$(buildah from --quiet "$base_image")" -- python3 --version </dev/null)"
buildah rm --all >/dev/null

# ---- 2. pip's sources inside the build: the host's local wheel and index directories, its CA bundle
pip_config() { # the host's pip setting $1 (global or env), empty when unset
  python3 -m pip config list 2>/dev/null | sed -n "s/^[^.]*\.$1='\(.*\)'$/\1/p" | tail -n 1
}
find_links="${PIP_FIND_LINKS:-$(pip_config find-links)}"
extra_index="${PIP_EXTRA_INDEX_URL:-$(pip_config extra-index-url)}"
ca_file="${PIP_CERT:-$(pip_config cert)}"
ca_file="${ca_file:-/etc/ssl/certs/ca-certificates.crt}"
build_volumes=()
local_dirs=()
for source in $find_links $extra_index; do
  dir="${source#file://}"
  dir="${dir%/}"
  if [[ $dir == /* && -d $dir ]]; then
    local_dirs+=("$source")
    # A local index (…/simple) links its files relatively (../../files/…): mount the folder above it.
    [[ $dir == */simple ]] && dir="${dir%/simple}"
    build_volumes+=(--volume "$dir:$dir:ro")
  fi
done
{
  echo "[global]"
  if [[ -f $ca_file ]]; then
    build_volumes+=(--volume "$ca_file:/run/host-ca.crt:ro")
    echo "cert = /run/host-ca.crt"
  fi
  links=""
  for source in $find_links; do [[ " ${local_dirs[*]} " == *" $source "* ]] && links+=" $source"; done
  [[ -n $links ]] && echo "find-links =$links"
} >"$work/pip.conf"
build_volumes+=(--volume "$work/pip.conf:/etc/pip.conf:ro")
# The Dockerfile hands TORCH_INDEX_URL to pip as PIP_EXTRA_INDEX_URL: the host's local indexes.
indexes=""
for source in $extra_index; do [[ " ${local_dirs[*]} " == *" $source "* ]] && indexes+="${indexes:+ }$source"; done
say "pip in the build: $(tr '\n' ' ' <"$work/pip.conf")extra indexes: ${indexes:-none}"

bud() { # bud TARGET TAG [build args...]
  local target=$1 tag=$2
  shift 2
  # --layers: the second target reuses the stages the first built. --format docker keeps HEALTHCHECK.
  buildah bud --quiet --layers --pull-never --format docker --target "$target" \
    --build-arg PYTHON_IMAGE="$base_image" --build-arg TORCH_INDEX_URL="$indexes" \
    "${build_volumes[@]}" --tag "$tag" "$@" . >"$work/build-$target.log" 2>&1
}
image_size() { buildah images --format '{{.Size}}' "$1" | head -n 1; }

declare -gA build_seconds size_of serving_seconds
build() { # build TARGET TAG [build args...]
  local started=$SECONDS
  say "building --target $1 (this takes minutes)"
  if ! bud "$@"; then
    tail -n 60 "$work/build-$1.log" >&2
    fail "buildah bud --target $1 failed (the end of its output is above)"
  fi
  build_seconds[$1]=$(elapsed "$started")
  size_of[$1]=$(image_size "$2")
  say "built $2 in ${build_seconds[$1]} s: ${size_of[$1]}"
}

# ---- 3. no-models
no_models=localhost/tarjama:no-models
build no-models "$no_models"

# The host's client (outside the container) talks to the server over loopback.
if [[ ! -x $venv/bin/tarjama ]]; then
  say "installing the client into $venv (scripts/install.sh)"
  bash scripts/install.sh "$venv" >/dev/null
fi

container="$(buildah from --quiet "$no_models")"
user_id="$(buildah run "$container" -- id -u </dev/null)"
[[ $user_id == 10001 ]] || fail "no-models runs as uid $user_id, not the non-root tarjama (10001)"
owner="$(buildah run "$container" -- stat -c %U /models /data </dev/null | sort -u | tr '\n' ' ')"
[[ $owner == "tarjama " ]] || fail "the /models and /data volumes belong to ${owner}, not to tarjama"
entrypoint="$(buildah inspect --type container --format '{{.Docker.Config.Entrypoint}}' "$container")"
[[ $entrypoint == '[tini -- tarjama-server]' ]] || fail "the entrypoint is $entrypoint, not tini -- tarjama-server"

# Tiny UNTRAINED models of the real classes, built by the image's own tarjama-models, inside the
# build context: the with-models build bakes them (LOCAL_MODELS).
models_dir="build/image-test/models"
rm -rf "$models_dir"
mkdir -p "$models_dir"
chown 10001 "$models_dir"
started=$SECONDS
buildah run --volume "$root/$models_dir:/out" --volume "$root/seeds:/seeds:ro" "$container" -- \
  tarjama-models build-tiny /out --source-text /seeds/000_72c42d5ea82af53c.txt \
  --target-text /seeds/000_72c42d5ea82af53c.reference.en.txt </dev/null >/dev/null ||
  fail "tarjama-models build-tiny failed in the image"
say "tiny models built in the image in $(elapsed "$started") s"

# serve NAME CONTAINER [buildah run options...] -- [server arguments...]: starts the entrypoint
# with the server on free loopback ports, waits (boundedly) for SERVING.
serve() {
  local name=$1 ctr=$2 options=() started deadline
  shift 2
  while [[ $1 != -- ]]; do
    options+=("$1")
    shift
  done
  shift
  grpc_port=$(free_port) http_port=$(free_port) metrics_port=$(free_port)
  log="$work/$name.log"
  started=$SECONDS
  buildah run --network host "${options[@]}" \
    --env TARJAMA_HOST=127.0.0.1 --env TARJAMA_PORT="$grpc_port" --env TARJAMA_HTTP_PORT="$http_port" \
    --env TARJAMA_METRICS_PORT="$metrics_port" --env TARJAMA_SHUTDOWN_GRACE_SECONDS="$grace" \
    "$ctr" -- tini -- tarjama-server "$@" </dev/null >"$log" 2>&1 &
  server_pid=$!
  servers+=("$server_pid")
  # Asked from the host, as an orchestrator would; a server that exits ends the wait at once.
  deadline=$((SECONDS + serving_wait))
  until timeout 30 "$venv/bin/tarjama" --server "127.0.0.1:$grpc_port" health --wait 5 >/dev/null 2>&1; do
    if ! kill -0 "$server_pid" 2>/dev/null || ((SECONDS >= deadline)); then
      tail -n 40 "$log" >&2
      fail "$name did not report SERVING within $serving_wait s, or exited (the end of its log is above)"
    fi
  done
  serving_seconds[$name]=$(elapsed "$started")
  say "$name: SERVING $((serving_seconds[$name])) s after start (gRPC 127.0.0.1:$grpc_port, HTTP $http_port)"
  # Both models on CTranslate2, the default engine (auto falls back to transformers with a warning).
  [[ $(grep -cE "loaded (translation|summarization) model .* with ctranslate2" "$log") == 2 ]] ||
    fail "$name: the models did not both load on CTranslate2 (see $log)"
}

# stop NAME: SIGTERM to tini's own PID (not to buildah run), then exit 0 within the grace period.
stop() {
  local name=$1 tini_pid="" pid deadline status started
  for pid in $(descendants "$server_pid"); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == tini ]] && tini_pid=$pid
  done
  [[ -n $tini_pid ]] || fail "$name: no tini process under buildah run $server_pid"
  kill -TERM "$tini_pid"
  started=$SECONDS
  deadline=$((SECONDS + grace + 15))
  while kill -0 "$server_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$server_pid" 2>/dev/null; then
    tail -n 20 "$log" >&2
    fail "$name: still running $((grace + 15)) s after SIGTERM (grace period ${grace} s)"
  fi
  status=0
  wait "$server_pid" || status=$?
  servers=("${servers[@]/$server_pid/}")
  ((status == 0)) || {
    tail -n 20 "$log" >&2
    fail "$name: exit status $status after SIGTERM, not 0"
  }
  say "$name: SIGTERM to tini (pid $tini_pid) → exit 0 after $(elapsed "$started") s (grace period $grace s)"
}

# check_serving NAME: the operator's checks against a SERVING server, from outside the container.
check_serving() { # check_serving NAME IMAGE
  local name=$1 probe
  # The image's own HEALTHCHECK command, in a second container on the host network.
  probe="$(buildah from --quiet "$2")"
  buildah run --network host --env TARJAMA_PORT="$grpc_port" "$probe" -- \
    sh /usr/local/bin/tarjama-healthcheck </dev/null >/dev/null || fail "$name: the image's HEALTHCHECK command failed"
  "$venv/bin/python" - "$grpc_port" "$http_port" seeds/000_72c42d5ea82af53c.txt <<'EOF' || fail "$name: the seed's Translate failed (above)"
import json, sys, urllib.request
from pathlib import Path

from tarjama_client import TarjamaClient

grpc_port, http_port, seed_path = sys.argv[1], sys.argv[2], sys.argv[3]
seed = Path(seed_path).read_text(encoding="utf-8")
with TarjamaClient(f"127.0.0.1:{grpc_port}", timeout=300) as client:
    result = client.translate([seed], source_language="ar")
translation = result.translations[0]
segments = translation.segments
# Every sentence comes back as a segment, in order, covering the article (random weights: no meaning).
assert len(segments) > 1 and translation.text.strip(), f"gRPC: {len(segments)} segments, text {translation.text!r}"
assert segments[-1].source_end >= len(seed.rstrip()), "gRPC: the segments stop before the article's end"
print(f"   gRPC Translate of the seed: {len(segments)} segments, {len(translation.text)} characters")
request = urllib.request.Request(
    f"http://127.0.0.1:{http_port}/tarjama.v1.TarjamaService/Translate",
    data=json.dumps({"texts": [seed], "sourceLanguage": "ar"}).encode(),
    headers={"Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=300) as response:
    body = json.load(response)
json_segments = body["translations"][0]["segments"]
assert len(json_segments) == len(segments), f"JSON: {len(json_segments)} segments, gRPC {len(segments)}"
print(f"   Connect JSON Translate of the seed: {len(json_segments)} segments")
with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=60) as response:
    page = response.read().decode()
assert response.status == 200 and "<html" in page.lower(), "the page is not served"
print(f"   the page: HTTP {response.status}, {len(page)} bytes")
EOF
}

serve no-models "$container" --volume "$root/$models_dir:/tiny:ro" -- \
  --translation-model /tiny/marian-ar-en --summarization-model /tiny/mt5-summarizer
check_serving no-models "$no_models"
stop no-models
grep -q "converting .* to CTranslate2" "$log" || fail "no-models: expected a CTranslate2 conversion at start (tiny models mounted unconverted)"

# ---- 4. with-models: the tiny models baked from a local directory (LOCAL_MODELS)
with_models=localhost/tarjama:with-models
local_root=/opt/tarjama/models/local
build with-models "$with_models" --build-arg LOCAL_MODELS="$models_dir" \
  --build-arg TRANSLATION_MODEL="$local_root/marian-ar-en" --build-arg SUMMARIZATION_MODEL="$local_root/mt5-summarizer"
container="$(buildah from --quiet "$with_models")"
serve with-models "$container" --
check_serving with-models "$with_models"
stop with-models
if grep -q "converting .* to CTranslate2" "$log"; then
  tail -n 30 "$log" >&2
  fail "with-models converted a model at start: the baked conversion was not found"
fi
say "with-models: started with nothing to convert (no conversion in its log)"

# ---- figures
say "figures (base: $base_tar)"
for target in no-models with-models; do
  printf '   %-12s size %-9s build %4s s   start to SERVING %3s s\n' \
    "$target" "${size_of[$target]}" "${build_seconds[$target]}" "${serving_seconds[$target]}"
done
say "test-image passed in $(elapsed "$script_started") s"
}

main "$@"
