#!/usr/bin/env bash
# Re-resolve the Python lock: requirements.in (ranges, edited by people) -> requirements.txt (every
# package at one exact version, generated; never edit it by hand). setup.sh and the Docker images
# install requirements.txt, so a new release on PyPI changes nothing until someone re-locks.
#
#   bash scripts/lock.sh                       # keep what is locked, add/resolve only what changed
#   bash scripts/lock.sh --upgrade             # newest versions the ranges in requirements.in allow
#   bash scripts/lock.sh --upgrade-package transformers    # move one package (and what it needs)
#
# Then run `bash scripts/test.sh` and commit requirements.in + requirements.txt together.
# The resolver is pip-compile (pip-tools) from a throwaway virtualenv, with the same pip as .venv, on
# Linux x86_64 + Python 3.11 (the platform of setup.sh and the images). torch is resolved as the
# version setup.sh installs first; its local build label (+cpu) is dropped so the same line fits the
# CPU wheel and the CUDA one. requirements-nodeps.txt (packages installed with --no-deps) holds exact
# versions itself and is not resolved here; their real imports are listed in requirements.in.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_VERSION=26.3
PIP_TOOLS_VERSION=7.6.2
TOOL=$(mktemp -d)
trap 'rm -rf "$TOOL"' EXIT
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -m venv "$TOOL/venv"
"$TOOL/venv/bin/python" -m pip --disable-pip-version-check -q install "pip==$PIP_VERSION" "pip-tools==$PIP_TOOLS_VERSION"
# llama-cpp-python is an sdist: pip-compile only reads its metadata (no compile)
CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$TOOL/venv/bin/pip-compile" --quiet --allow-unsafe --strip-extras --no-emit-index-url --no-emit-trusted-host \
  --no-emit-find-links --no-emit-options --resolver=backtracking \
  --output-file requirements.txt "$@" requirements.in
sed -i -E 's/^(torch==[0-9.]+)\+[a-z0-9]+/\1/' requirements.txt
echo "requirements.txt: $(grep -c '==' requirements.txt) packages locked"
