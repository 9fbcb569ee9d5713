"""Checks made on every request before any route sees it: the Host header, writes from another site's page,
and the size of a declared body.

FastAPI's own ``max_body_size`` counts the body as it arrives (so a chunked body is limited too), but a
declared ``Content-Length`` above the limit gets Starlette's plain-text 413 whatever the app's handlers
answer; :class:`DeclaredLengthGuard` refuses those first, in the API's ``{"detail"}`` shape.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from qlosync.api.auth import is_loopback

#: The largest request body read: a CSV of thousands of shops fits many times over.
MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = f"the request body is larger than {MAX_BODY_BYTES} bytes (1 MiB)"


def too_large() -> JSONResponse:
    return JSONResponse(status_code=413, content={"detail": TOO_LARGE})


class DeclaredLengthGuard:
    """ASGI middleware: 413 at once for a body declared larger than the limit, without reading it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                await too_large()(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HostGuard:
    """ASGI middleware: 421 for a Host header that is not this API's.

    A page on another site can make the operator's browser resolve its own name to 127.0.0.1 (DNS
    rebinding) and read the answers, but the browser still sends that name as Host. Without a token
    only loopback names are served; with one, also the configured names (``*``: any). Starlette's
    TrustedHostMiddleware is not used: it answers in plain text, and IPv6 literals need their own check.
    """

    def __init__(self, app: ASGIApp, *, token_set: bool, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = frozenset(allowed_hosts) if token_set else frozenset()
        self.token_set = token_set

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "*" not in self.allowed:
            host = host_name(Headers(scope=scope).get("host", ""))
            if host is None or not (is_loopback(host) or host in self.allowed):
                await self._refuse(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        served = "loopback names (localhost, 127.0.0.1, [::1])"
        if self.token_set:
            served += " and the names in QLOSYNC_API_ALLOWED_HOSTS"
        else:
            served += " while QLOSYNC_API_TOKEN is not set"
        # The Host given is not repeated: it is whatever the caller chose to send.
        response = JSONResponse(status_code=421, content={
            "detail": f"this API does not answer to that Host header: it serves {served}"})
        await response(scope, receive, send)


#: Methods that change nothing: a page on another site cannot read their answers (no CORS is ever granted).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE = "cross-site request refused: a web page of another origin may not change qlosync through the browser"


class CrossSiteGuard:
    """ASGI middleware: 403 for a write that a browser sends on behalf of another site's page.

    A page can make the operator's browser POST a "simple" request (``text/plain``, a form) to the API on
    loopback without any preflight, e.g. a CSV that adds a shop pointing at the attacker; the Host check
    does not see it, since the browser sends the API's own Host. Browsers say where such a request comes
    from (``Origin``, ``Sec-Fetch-Site``); clients without a browser (curl, the CLI, scripts) send neither
    and are not affected. ``same-site`` is refused too: another port of localhost is the same site.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS and _from_another_origin(Headers(scope=scope)):
            await JSONResponse(status_code=403, content={"detail": CROSS_SITE})(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _from_another_origin(headers: Headers) -> bool:
    if headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    # Only host and port are compared: behind a TLS proxy the API itself sees plain http.
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return True
    return not netloc or netloc.lower() != headers.get("host", "").lower()


_HOST_HEADER = re.compile(r"^(?:\[(?P<ipv6>[0-9a-fA-F:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::[0-9]{1,5})?$")


def host_name(header: str) -> str | None:
    """The host of a Host header in lower case, without port or brackets; None when it is not one."""
    match = _HOST_HEADER.match(header)
    if match is None:
        return None
    return (match["ipv6"] or match["name"]).lower().removesuffix(".")
