"""The HTTP edge of the server: what is refused before a request reaches a route.

``install_edge`` puts :class:`EdgeMiddleware` in front of the FastAPI app; ``guard`` puts it in front
of the whole server (Socket.IO included), where it runs once per request.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from ai_pipeline.settings import Settings
from backend.edge.auth import token_ok
from backend.edge.middleware import EdgeMiddleware

__all__ = ["EdgeMiddleware", "guard", "install_edge", "token_ok"]


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Outermost of the app's own middleware: call after every other ``add_middleware``."""
    app.add_middleware(EdgeMiddleware, settings=settings)


def guard(server: ASGIApp, settings: Settings) -> ASGIApp:
    """The whole server (REST + Socket.IO) behind the edge checks."""
    return EdgeMiddleware(server, settings)
