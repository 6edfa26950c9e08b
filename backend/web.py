"""The built web app (``frontend/dist``) served at ``/`` by the same server as the API.

A middleware, so routers included in any order keep their paths: ``/api/*`` and the API docs go to
FastAPI, everything else is the web app. Files under ``assets/`` carry content hashes in their names
and are cached for a year; any other path that is not a file gets ``index.html`` (the app routes by
hash, but a reload of any path must not 404). Without a build, ``/`` explains how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse

API_PREFIXES = ("/api/", "/api", "/docs", "/redoc", "/openapi.json", "/socket.io")
NOT_BUILT = """<!doctype html><html lang="ru"><meta charset="utf-8"><title>Аватар</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Веб-интерфейс не собран</h1>
<p>Соберите его командой <code>bash scripts/setup.sh</code> (или <code>cd frontend &amp;&amp; npm install &amp;&amp;
npm run build</code>) и обновите страницу. API работает: <a href="/docs">/docs</a>.</p></body></html>"""


def web_file(dist: Path, path: str) -> Path | None:
    """The file under ``dist`` a request path names, or None (never escapes ``dist``)."""
    root = dist.resolve()
    file = (root / path.lstrip("/")).resolve()
    return file if file.is_file() and file.is_relative_to(root) else None


def mount_web(app: FastAPI, dist: Path) -> None:
    """Serve ``dist`` for every GET that is not an API path."""

    @app.middleware("http")
    async def web(request: Request, call_next):  # type: ignore[no-untyped-def]
        path = request.url.path
        if request.method not in ("GET", "HEAD") or path.startswith(API_PREFIXES):
            return await call_next(request)
        file = web_file(dist, path)
        if file is not None:
            immutable = path.startswith("/assets/")
            return FileResponse(file, headers={"Cache-Control": "public, max-age=31536000, immutable"
                                               if immutable else "no-cache"})
        index = dist / "index.html"
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(NOT_BUILT, status_code=503)
