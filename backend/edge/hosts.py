"""Which Host and Origin headers the server answers: the DNS-rebinding and cross-site guards.

A web page on another site can make the browser talk to a server on 127.0.0.1 in two ways: by
pointing its own domain at 127.0.0.1 (DNS rebinding: the request carries that domain in ``Host``)
or by posting a form across sites (no CORS preflight: the request carries a foreign ``Origin`` or
``Sec-Fetch-Site: cross-site``). Both are refused here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

LOOPBACK_NAMES = frozenset({"localhost"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(host: str) -> str:
    """The name part of a ``Host`` header: no port, no brackets, lower case, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:host.find("]")] if "]" in host else host
    if host.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback(name: str) -> bool:
    ip = _ip(name)
    return name in LOOPBACK_NAMES if ip is None else ip.is_loopback


class HostPolicy:
    """Loopback names always; ``allowed`` names; the bound address. Bound to every address
    (0.0.0.0), any IP literal too: a rebinding page can only bring its own domain name."""

    def __init__(self, allowed: Iterable[str], bound_host: str) -> None:
        names = {host_name(h) for h in allowed if h.strip()}
        self.any_host = "*" in names
        bound = host_name(bound_host)
        self.any_ip = bound_host.strip() in WILDCARD_BINDS
        if not self.any_ip:
            names.add(bound)
        self.names = frozenset(names - {"*"})

    def allows(self, host: str | None) -> bool:
        if self.any_host:
            return True
        if not host:
            return False
        name = host_name(host)
        return is_loopback(name) or name in self.names or (self.any_ip and _ip(name) is not None)


def _origin(value: str) -> str:
    return value.strip().rstrip("/").lower()


class OriginPolicy:
    """A state-changing request may come from the server's own origin or a configured one."""

    def __init__(self, cors_origins: Iterable[str]) -> None:
        self.allowed = frozenset(_origin(o) for o in cors_origins)

    def allows(self, method: str, scheme: str, host: str | None, origin: str | None, fetch_site: str | None) -> bool:
        """Requests without ``Origin`` (curl, scripts) pass unless the browser says they are cross-site."""
        if method.upper() not in STATE_CHANGING:
            return True
        cross_site = (fetch_site or "").strip().lower() == "cross-site"
        if origin is None:
            return not cross_site
        origin = _origin(origin)
        if origin in self.allowed:
            return True
        own = f"{'https' if scheme in ('https', 'wss') else 'http'}://{(host or '').strip().lower()}"
        return origin == own and not cross_site
