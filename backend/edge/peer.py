"""Who is asking: the client address that rate limits are keyed by.

The address is the connection's peer, taken from the ASGI scope (engine.io's ``REMOTE_ADDR`` is
always 127.0.0.1). ``X-Forwarded-For`` is believed only when the peer is one of
``server.trusted_proxies``, and then only its last hop that is not a trusted proxy: the hops before
it are whatever the client chose to send.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from starlette.types import Scope


def client_address(peer: str, forwarded_for: str, trusted_proxies: Collection[str]) -> str:
    """``peer``, or the last untrusted ``X-Forwarded-For`` hop when ``peer`` is a trusted proxy."""
    if peer in trusted_proxies:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        while hops and hops[-1] in trusted_proxies:
            hops.pop()
        if hops:
            return hops[-1]
    return peer


def _scope_peer(scope: Mapping[str, Any], fallback: str = "unknown") -> str:
    client = scope.get("client")
    return str(client[0]) if client else fallback


def scope_address(scope: Scope, trusted_proxies: Collection[str]) -> str:
    """The client address of an HTTP request or WebSocket handshake (an ASGI scope)."""
    forwarded = ",".join(v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for")
    return client_address(_scope_peer(scope), forwarded, trusted_proxies)


def peer_address(environ: Mapping[str, Any], trusted_proxies: Collection[str]) -> str:
    """The client address of a Socket.IO connection (an engine.io ``environ``)."""
    peer = _scope_peer(environ.get("asgi.scope") or {}, str(environ.get("REMOTE_ADDR") or "unknown"))
    return client_address(peer, str(environ.get("HTTP_X_FORWARDED_FOR", "")), trusted_proxies)
