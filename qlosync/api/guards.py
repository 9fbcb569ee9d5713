"""Checks made on every request before any route sees it: the size of a declared body.

FastAPI's own ``max_body_size`` counts the body as it arrives (so a chunked body is limited too), but a
declared ``Content-Length`` above the limit gets Starlette's plain-text 413 whatever the app's handlers
answer; :class:`DeclaredLengthGuard` refuses those first, in the API's ``{"detail"}`` shape.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

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
