#!/usr/bin/env bash
# Build the CPU image for real, run the CPU profile with docker-compose, check it from the host as a
# user would, and tear everything down. Prints one JSON line at the end (each check, image size, build
# times). Not part of .ci/run (a cold build takes far longer than CI allows); run it as root:
#
#   bash scripts/docker_check.sh
#
# - Starts `dockerd --iptables=false --bridge=none` when no engine answers (compose still makes its own
#   network; the API is published on 127.0.0.1:$AVATAR_CHECK_PORT, default 8011).
# - Where Docker Hub is unreachable, the base images are made from Debian's archive
#   (docker/local_bases.sh, cached) and passed as PYTHON_IMAGE / NODE_IMAGE / AVATAR_REDIS_IMAGE.
# - Where download.pytorch.org is unreachable, the CPU torch wheel is taken from $AVATAR_WHEELS
#   (default /opt/wheels), served to the build on a loopback port (PIP_FIND_LINKS).
# - $AVATAR_CA_BUNDLE (default: the system bundle) is passed as the build secret `ca_bundle`, for
#   builds behind a TLS-intercepting proxy; it never enters a layer.
# - The image is built from the committed tree (git archive HEAD), then rebuilt after one Python file
#   changed, to measure what a code change costs.
# - Where the bases are local (or AVATAR_CHECK_GPU=1), the GPU image is built too, on the Debian base
#   with the CPU torch wheel, and its heavy engines' modules are imported: a plumbing check (running
#   it on CUDA needs a CUDA machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PORT=${AVATAR_CHECK_PORT:-8011}
WHEELS=${AVATAR_WHEELS:-/opt/wheels}
CA=${AVATAR_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
PROJECT=avatar-check
IMAGE=avatar-cpu:latest
WORK=$(mktemp -d)
TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export AVATAR_SERVER__TOKEN=$TOKEN AVATAR_PORT=$PORT
log() { echo "[docker-check] $*" >&2; }
now() { date +%s.%N; }
since() { python3 -c "print(round($(now) - $1, 1))"; }

# --- an engine, and a client that builds with BuildKit -------------------------------------------------
DOCKER=docker
if ! docker buildx version >/dev/null 2>&1 && [ -x /usr/bin/docker ]; then
  DOCKER=/usr/bin/docker  # Debian's docker.io client has BuildKit built in (DOCKER_BUILDKIT=1)
fi
export DOCKER DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
COMPOSE=(docker-compose)
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); fi
COMPOSE+=(-p "$PROJECT" -f docker-compose.yml --profile cpu)
if ! $DOCKER info >/dev/null 2>&1; then
  log "starting dockerd (--iptables=false --bridge=none)"
  nohup dockerd --iptables=false --bridge=none >"$WORK/dockerd.log" 2>&1 &
  for _ in $(seq 60); do $DOCKER info >/dev/null 2>&1 && break; sleep 1; done
  $DOCKER info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log" >&2; exit 1; }
fi

server_pid=""
cleanup() {
  "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- base images and package sources -------------------------------------------------------------------
BUILD_ARGS=()
BASES="hub"
if ! timeout 30 $DOCKER pull -q python:3.11-slim-bookworm >/dev/null 2>&1; then
  BASES="local (debootstrap)"
  read -r _ python node redis < <(DOCKER=$DOCKER bash docker/local_bases.sh)
  BUILD_ARGS+=(--build-arg "PYTHON_IMAGE=$python" --build-arg "NODE_IMAGE=$node")
  export AVATAR_REDIS_IMAGE=$redis
fi
TORCH="download.pytorch.org"
if ! timeout 15 python3 -c "import urllib.request; urllib.request.urlopen('https://download.pytorch.org/whl/cpu/', timeout=10)" 2>/dev/null; then
  ls "$WHEELS"/torch-*+cpu-*.whl >/dev/null 2>&1 \
    || { log "download.pytorch.org is unreachable and $WHEELS has no CPU torch wheel"; exit 1; }
  wheel_port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  python3 -m http.server "$wheel_port" --bind 127.0.0.1 --directory "$WHEELS" >/dev/null 2>&1 &
  server_pid=$!
  BUILD_ARGS+=(--build-arg "TORCH_INDEX_URL=" --build-arg "PIP_FIND_LINKS=http://127.0.0.1:$wheel_port/")
  TORCH="$WHEELS (served on 127.0.0.1:$wheel_port)"
fi
[ -s "$CA" ] && BUILD_ARGS+=(--secret "id=ca_bundle,src=$CA")

# --- build from the committed tree, then after a one-file change ---------------------------------------
git archive HEAD | tar -x -C "$WORK" --one-top-level=context
build() {  # $1: log file; the image is $IMAGE
  $DOCKER build --network host --progress plain "${BUILD_ARGS[@]}" -f docker/Dockerfile.cpu -t "$IMAGE" \
    "$WORK/context" >"$1" 2>&1 || { cp "$1" /tmp/avatar-docker-build.log; tail -40 "$1" >&2
                                     log "build failed (log: /tmp/avatar-docker-build.log)"; exit 1; }
}
log "building $IMAGE from $(git rev-parse --short HEAD) (bases: $BASES; torch: $TORCH)"
t=$(now); build "$WORK/build.log"; build_s=$(since "$t")
cp "$WORK/build.log" /tmp/avatar-docker-build.log
echo "# a code change" >>"$WORK/context/backend/__init__.py"
log "rebuilding after one Python file changed"
t=$(now); build "$WORK/rebuild.log"; rebuild_s=$(since "$t")
size_mb=$(( $($DOCKER image inspect -f '{{.Size}}' "$IMAGE") / 1000000 ))

# --- run it and check it as a user would -----------------------------------------------------------------
wait_healthy() {
  local id; id=$("${COMPOSE[@]}" ps -q api)
  for _ in $(seq 120); do
    case $($DOCKER inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null) in
      healthy) echo healthy; return ;;
      unhealthy) break ;;
    esac
    sleep 5
  done
  $DOCKER inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null || echo missing
}
log "docker-compose up (redis + api)"
"${COMPOSE[@]}" up -d >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; exit 1; }
t=$(now); health=$(wait_healthy); healthy_s=$(since "$t")
uid=$($DOCKER exec "$("${COMPOSE[@]}" ps -q api)" id -u)
PY=${PYTHON:-$ROOT/.venv/bin/python}
use=$("$PY" docker/check_client.py "http://127.0.0.1:$PORT" "$TOKEN" use || echo '{}')
session=$(python3 -c "import json,sys; print(json.loads(sys.argv[1]).get('session_id') or 0)" "$use")
log "docker-compose down && up: the data volume must keep the conversation"
"${COMPOSE[@]}" down >/dev/null 2>&1
"${COMPOSE[@]}" up -d >/dev/null 2>&1
again=$(wait_healthy)
kept=$("$PY" docker/check_client.py "http://127.0.0.1:$PORT" "$TOKEN" kept "$session" || echo '{}')
"${COMPOSE[@]}" logs --no-color api >/tmp/avatar-docker-api.log 2>&1 || true

# --- the GPU image: built on the local base with the CPU torch wheel (plumbing; CUDA needs a GPU) ------
gpu_build_s=None; gpu_mb=None; gpu_import=false
if [ "${AVATAR_CHECK_GPU:-auto}" = 1 ] || { [ "${AVATAR_CHECK_GPU:-auto}" = auto ] && [ "$BASES" != hub ]; }; then
  log "building the GPU image on avatar-local/debian:bookworm with the CPU torch wheel (plumbing only)"
  gpu_args=("${BUILD_ARGS[@]}")
  [ "$BASES" != hub ] && gpu_args+=(--build-arg "CUDA_IMAGE=avatar-local/debian:bookworm")
  t=$(now)
  if $DOCKER build --network host --progress plain "${gpu_args[@]}" -f docker/Dockerfile.gpu -t avatar-gpu:check \
       "$WORK/context" >"$WORK/gpu.log" 2>&1; then
    gpu_build_s=$(since "$t")
    gpu_mb=$(( $($DOCKER image inspect -f '{{.Size}}' avatar-gpu:check) / 1000000 ))
    # the entrypoint assembles the models into /models, then the heavy engines' modules import
    if $DOCKER run --rm --network host avatar-gpu:check python -c \
         "import torch, ai_pipeline.talking_head.wav2lip.engine, ai_pipeline.talking_head.sadtalker.networks, ai_pipeline.enhance.gfpgan; print(torch.__version__)" \
         >"$WORK/gpu-run.log" 2>&1; then
      gpu_import=true
    else
      tail -20 "$WORK/gpu-run.log" >&2
    fi
  else
    cp "$WORK/gpu.log" /tmp/avatar-docker-gpu-build.log
    tail -30 "$WORK/gpu.log" >&2
    log "GPU image build failed (log: /tmp/avatar-docker-gpu-build.log)"
  fi
fi

python3 - "$use" "$kept" <<EOF
import json, sys
use, kept = (json.loads(a or "{}") for a in sys.argv[1:3])
checks = {
    "healthcheck": "$health" == "healthy",
    "non_root": "$uid" != "0",
    "health": use.get("health", {}).get("ok", False),
    "render_mp4": use.get("render", {}).get("ok", False),
    "socket_turn": use.get("turn", {}).get("ok", False),
    "volume_survives_down_up": "$again" == "healthy" and kept.get("ok", False),
}
print(json.dumps({"ok": all(checks.values()), "checks": checks, "image": "$IMAGE", "image_mb": $size_mb,
                  "build_s": $build_s, "rebuild_after_code_change_s": $rebuild_s, "healthy_after_s": $healthy_s,
                  "uid": "$uid", "bases": "$BASES", "torch": "$TORCH",
                  "gpu_image": {"build_s": $gpu_build_s, "image_mb": $gpu_mb, "imports": "$gpu_import" == "true"},
                  "details": {"use": use, "kept": kept}},
                 ensure_ascii=False))
EOF
