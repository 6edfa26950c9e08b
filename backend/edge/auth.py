"""The access token: an ``Authorization: Bearer`` header, or an HttpOnly cookie set by the web page.

Opening the web app once with ``?token=...`` stores the token in a ``SameSite=Strict`` cookie and
redirects to the same address without it, so the token never stays in the address bar, the history
or media URLs. API calls accept the header or the cookie, never ``?token=``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, unquote, urlencode

COOKIE = "avatar_token"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
OPEN_API_PATHS = frozenset({"/api/health"})
_COOKIE_SPLIT = re.compile(r"[;,]")  # ASGI joins repeated Cookie headers with ","


def _header(source: Mapping[str, str], name: str) -> str:
    """A header from a WSGI-style environ (``HTTP_COOKIE``) or a headers mapping (``cookie``)."""
    value = source.get("HTTP_" + name.upper().replace("-", "_"))
    if value is None:
        value = source.get(name.lower())
    return value if isinstance(value, str) else ""


def cookie_value(cookie_header: str, name: str = COOKIE) -> str | None:
    for part in _COOKIE_SPLIT.split(cookie_header):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return unquote(value.strip().strip('"'))
    return None


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def token_ok(environ_or_headers: Mapping[str, str], token: str) -> bool:
    """Whether a request carries ``token`` as a bearer header or in the cookie.

    Takes a Socket.IO/WSGI ``environ`` or a headers mapping with lower-case names.
    """
    bearer = _header(environ_or_headers, "authorization")
    if bearer[:7].lower() == "bearer " and _same(bearer[7:].strip(), token):
        return True
    return _same(cookie_value(_header(environ_or_headers, "cookie")), token)


def set_cookie_header(token: str, secure: bool) -> str:
    flags = f"; Max-Age={COOKIE_MAX_AGE_S}; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
    return f"{COOKIE}={quote(token, safe='')}{flags}"


def split_token(query_string: str) -> tuple[str | None, str]:
    """(the ``token`` query parameter, the query string without it)."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    token = next((v for k, v in pairs if k == "token"), None)
    return token, urlencode([(k, v) for k, v in pairs if k != "token"])


def needs_token(path: str) -> bool:
    return path.startswith("/api/") and path not in OPEN_API_PATHS
