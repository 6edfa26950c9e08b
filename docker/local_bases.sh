#!/usr/bin/env bash
# Make stand-ins for the public base images from Debian's archive, for machines that cannot reach
# Docker Hub (the images are then built with --build-arg PYTHON_IMAGE=... NODE_IMAGE=...):
#
#   avatar-local/debian:bookworm          debootstrap --variant=minbase bookworm (docker import)
#   avatar-local/python:3.11-bookworm     + Debian 12's Python 3.11 (python, python3, venv, pip)
#   avatar-local/node:20-bookworm         + this machine's Node.js 20 and npm (copied)
#   avatar-local/redis:bookworm           + Debian 12's redis-server
#
# Everything is cached: the root filesystem in $AVATAR_DOCKER_CACHE (default /var/cache/avatar-docker),
# the images in the engine; a second run only checks they exist. Needs root, debootstrap, and Node.js
# 20 on this machine.
#
#   bash docker/local_bases.sh            # prints the four image names when they are ready
set -euo pipefail

CACHE=${AVATAR_DOCKER_CACHE:-/var/cache/avatar-docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKER=${DOCKER:-docker}
BASE=avatar-local/debian:bookworm
PYTHON=avatar-local/python:3.11-bookworm
NODE=avatar-local/node:20-bookworm
REDIS=avatar-local/redis:bookworm

have() { $DOCKER image inspect "$1" >/dev/null 2>&1; }
log() { echo "[local-bases] $*" >&2; }
# a tiny image on top of $BASE; its Dockerfile comes on stdin, its context is $2 (or empty)
derive() {
  local tag=$1 context=${2:-}
  if [ -z "$context" ]; then context=$(mktemp -d); fi
  $DOCKER build --network host -q -t "$tag" -f - "$context" >/dev/null
}

mkdir -p "$CACHE"
if ! have "$BASE"; then
  if [ ! -f "$CACHE/bookworm-minbase.tar" ]; then
    log "debootstrap bookworm (minbase) from $MIRROR: a few minutes, once"
    rm -rf "$CACHE/rootfs"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    rm -rf "$CACHE/rootfs/var/cache/apt/archives/"*.deb "$CACHE/rootfs/var/lib/apt/lists/"*
    tar -C "$CACHE/rootfs" -cf "$CACHE/bookworm-minbase.tar.part" .
    mv "$CACHE/bookworm-minbase.tar.part" "$CACHE/bookworm-minbase.tar"
    rm -rf "$CACHE/rootfs"
  fi
  log "importing $BASE"
  $DOCKER import -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' "$CACHE/bookworm-minbase.tar" "$BASE" >/dev/null
fi

if ! have "$PYTHON"; then
  log "building $PYTHON"
  derive "$PYTHON" <<EOF
FROM $BASE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip python-is-python3 ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
EOF
fi

if ! have "$NODE"; then
  log "building $NODE (Node.js $(node --version) and npm $(npm --version) of this machine)"
  context=$(mktemp -d)
  cp "$(readlink -f "$(command -v node)")" "$context/node"
  cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$context/npm"
  derive "$NODE" "$context" <<EOF
FROM $BASE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
EOF
  rm -rf "$context"
fi

if ! have "$REDIS"; then
  log "building $REDIS"
  context=$(mktemp -d)
  # as the official image does: a server started without a config file takes connections from other
  # containers (Debian's default protected mode refuses them when no password is set)
  cat >"$context/entrypoint.sh" <<'EOF'
#!/bin/sh
if [ "$1" = redis-server ]; then shift; exec redis-server "$@" --protected-mode no; fi
exec "$@"
EOF
  chmod +x "$context/entrypoint.sh"
  derive "$REDIS" "$context" <<EOF
FROM $BASE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends redis-server \\
 && rm -rf /var/lib/apt/lists/*
COPY entrypoint.sh /usr/local/bin/redis-entrypoint
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
CMD ["redis-server"]
EOF
  rm -rf "$context"
fi

echo "$BASE $PYTHON $NODE $REDIS"
