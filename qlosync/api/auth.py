"""Bearer-token authentication of the admin API, and the rule about where it may listen without one.

Every ``/api/`` operation needs ``Authorization: Bearer <QLOSYNC_API_TOKEN>``. Without a token set the
operations are open, which is acceptable only because ``qlosync api`` then refuses to listen anywhere
but on a loopback address (see :func:`is_loopback`).
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qlosync.secrets import Secret

bearer_scheme = HTTPBearer(auto_error=False, description="The value of QLOSYNC_API_TOKEN.")


def token_matches(given: str, expected: Secret) -> bool:
    """Constant-time comparison: how long it takes says nothing about how much of the token was right."""
    # Header values arrive decoded as latin-1, so encoding cannot fail; compare_digest wants bytes for non-ASCII.
    return hmac.compare_digest(given.encode("utf-8"), expected.reveal().encode("utf-8"))


def require_token(request: Request,
                  credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme)) -> None:
    """FastAPI dependency: 401 with ``WWW-Authenticate: Bearer`` unless the request carries the token."""
    expected: Secret | None = request.app.state.api_token
    if expected is None:
        return
    if credentials is None or not token_matches(credentials.credentials, expected):
        raise HTTPException(status_code=401, detail="missing or wrong bearer token (QLOSYNC_API_TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})


def require_metrics_access(request: Request,
                           credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme)) -> None:
    """FastAPI dependency of /metrics: the token, like the operations (it names shops and counts bookings),
    unless QLOSYNC_API_LOOPBACK_METRICS lets a scraper on this machine in without it."""
    peer = request.client.host if request.client is not None else ""
    if request.app.state.loopback_metrics and is_loopback(peer):
        return
    require_token(request, credentials)


def is_loopback(host: str) -> bool:
    """Whether *host* only accepts connections from this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost could resolve anywhere
