"""Container health check: ``GET /api/health`` on this container's server must answer ``status: ok``.

The images' ``HEALTHCHECK`` runs it with the image's Python (no curl in the image). The port comes from
``AVATAR_SERVER__PORT`` (default 8000), the same variable the server reads. Exit 0: healthy; 1: not
(unreachable, an HTTP error, or engines still loading).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('AVATAR_SERVER__PORT', '8000')}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            status = json.load(response).get("status")
    except (OSError, ValueError, urllib.error.URLError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != "ok":
        print(f"unhealthy: {url}: status {status!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
