"""QloApps webservice errors, and the one function that maps HTTP outcomes onto them.

Every class is either transient (also a :class:`TransientError`: retry later) or permanent (also a
:class:`PermanentError`: dead-letter). :class:`QloAppsOutcomeUnknown` is transient with a catch: a write may
have happened, so the caller must look before it sends the same write again (B18, B21).

No message, repr or attribute carries the API key or a query string: the key travels only in the
Authorization header, error paths are cut at ``?``, and body excerpts are scrubbed of the key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from qlosync.errors import PermanentError, QlosyncError, TransientError

EXCERPT_CHARS = 300
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class QloAppsErrorDetail:
    """One entry of QloApps' ``{"errors":[{"code":N,"message":"..."}]}``."""

    code: int | None
    message: str


class QloAppsError(QlosyncError):
    """A QloApps webservice call failed; carries method, path (no query), status and what QloApps said."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        body_excerpt: str = "",
        details: Sequence[QloAppsErrorDetail] = (),
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = strip_query(path)
        self.status = status
        self.body_excerpt = body_excerpt[:EXCERPT_CHARS]
        self.details = tuple(details)

    @property
    def codes(self) -> tuple[int | None, ...]:
        return tuple(d.code for d in self.details)

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(d.message for d in self.details)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status!r})"


class QloAppsAuthError(QloAppsError, PermanentError):
    """401/403: the key is missing, wrong, inactive or lacks a permission (B2)."""


class QloAppsNotFound(QloAppsError, PermanentError):
    """404: the id does not exist (QloApps answers with an empty body, B4)."""


class QloAppsValidationError(QloAppsError, PermanentError):
    """400 (or another 4xx): QloApps rejected the request; its messages say why (B1, B19)."""


class QloAppsMethodNotAllowed(QloAppsError, PermanentError):
    """405: the resource does not allow this method (DELETE /bookings, GET /hotel_ari; B27, B38)."""


class QloAppsServerError(QloAppsError, TransientError):
    """5xx (or 429): QloApps failed or is overloaded; often an empty body (B18, B34)."""


class QloAppsTimeout(QloAppsError, TransientError):
    """No answer within the connect or read timeout."""


class QloAppsConnectionError(QloAppsError, TransientError):
    """The connection could not be made or broke off."""


class QloAppsBadResponse(QloAppsError, TransientError):
    """A success status whose body is not the expected JSON/XML document (e.g. "Fatal error", B18).

    ``garbled``: the body is not JSON at all (an HTML error page: the server's trouble, worth a retry), as
    opposed to JSON of the wrong shape (a malformed record: asking again gives the same answer).
    """

    garbled: bool = False


class QloAppsInvalidRequest(QloAppsError, PermanentError):
    """Refused before sending: QloApps would mishandle it (a 200 "Fatal error", a 500, a silent change)."""


class QloAppsPagingError(QloAppsError, TransientError):
    """A listing kept shifting under the pager; the pass was abandoned rather than risk a gap."""


class QloAppsOutcomeUnknown(QloAppsError, TransientError):
    """A POST/PUT may or may not have been applied: reconcile (look it up) before sending it again."""

    def __init__(self, cause: QloAppsError) -> None:
        super().__init__(
            f"outcome unknown, reconcile before retrying: {cause}",
            method=cause.method,
            path=cause.path,
            status=cause.status,
            body_excerpt=cause.body_excerpt,
            details=cause.details,
        )
        self.cause = cause


def strip_query(path: str) -> str:
    """Cut the query string (which could hold personal data or a ws_key) off a path or URL."""
    return path.split("?", 1)[0].split("#", 1)[0]


def error_details(body: str) -> tuple[QloAppsErrorDetail, ...]:
    """Parse ``{"errors":[...]}``; anything else gives no details."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ()
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return ()
    details = []
    for entry in errors:
        if isinstance(entry, dict):
            code = entry.get("code")
            details.append(QloAppsErrorDetail(code if isinstance(code, int) else None, str(entry.get("message", ""))))
    return tuple(details)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "********") if secret else text


def _class_for_status(status: int) -> type[QloAppsError]:
    if status in (401, 403):
        return QloAppsAuthError
    if status == 404:
        return QloAppsNotFound
    if status == 405:
        return QloAppsMethodNotAllowed
    if status == 429 or status >= 500:
        return QloAppsServerError
    if 400 <= status < 500:
        return QloAppsValidationError
    return QloAppsBadResponse


def _was_sent(exc: requests.RequestException) -> bool:
    """False only when the request provably never left (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, ConnectTimeoutError)):
            return False
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)
    return True


def _from_exception(method: str, path: str, exc: requests.RequestException) -> tuple[QloAppsError, bool]:
    # str(exc) from requests names the full URL with its query string: keep only type names.
    sent = _was_sent(exc)
    if isinstance(exc, requests.Timeout):
        phase = "read" if sent else "connect"
        err: QloAppsError = QloAppsTimeout(f"QloApps {method} {path}: {phase} timeout", method=method, path=path)
    else:
        what = "request failed after sending" if sent else "could not connect"
        err = QloAppsConnectionError(f"QloApps {method} {path}: {what} ({type(exc).__name__})", method=method, path=path)
    return err, sent


def error_for(
    method: str,
    path: str,
    *,
    response: requests.Response | None = None,
    exc: requests.RequestException | None = None,
    reason: str | None = None,
    idempotent: bool | None = None,
    secret: str | None = None,
) -> QloAppsError:
    """Map one failed call (an exception, an error status, or a body that is not what was expected) to an error.

    For a non-idempotent call (POST/PUT unless told otherwise) every failure after which the write may
    have happened (5xx, read timeout, a connection broken after sending, an unparsable 200) is wrapped
    in :class:`QloAppsOutcomeUnknown`; 4xx and failures before sending stay as they are.
    """
    method = method.upper()
    path = strip_query(path)
    if idempotent is None:
        idempotent = method not in _WRITE_METHODS
    ambiguous = False
    if exc is not None:
        err, ambiguous = _from_exception(method, path, exc)
    elif response is not None:
        body = _scrub(response.text or "", secret)
        details = error_details(body)
        status = response.status_code
        cls = QloAppsBadResponse if reason is not None or status < 400 else _class_for_status(status)
        said = "; ".join(f"[{d.code}] {d.message}" for d in details) or (reason or "")
        if not said:
            said = "empty body" if not body.strip() else f"unexpected {response.headers.get('Content-Type', 'body')}"
        err = cls(
            _scrub(f"QloApps {method} {path} answered {status}: {said}", secret)[:1000],
            method=method,
            path=path,
            status=status,
            body_excerpt=body,
            details=details,
        )
        ambiguous = cls in (QloAppsServerError, QloAppsBadResponse)
    else:
        raise ValueError("error_for needs a response or an exception")
    if ambiguous and not idempotent:
        return QloAppsOutcomeUnknown(err)
    return err
