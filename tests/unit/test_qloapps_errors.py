"""Mapping HTTP outcomes to QloApps errors: classes, retry families, write ambiguity, no secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from qlosync.errors import PermanentError, TransientError
from qlosync.qloapps.errors import (
    QloAppsAuthError,
    QloAppsBadResponse,
    QloAppsConnectionError,
    QloAppsMethodNotAllowed,
    QloAppsNotFound,
    QloAppsOutcomeUnknown,
    QloAppsServerError,
    QloAppsTimeout,
    QloAppsValidationError,
    error_for,
)

SAMPLES = Path(
    os.environ.get("QLOSYNC_SAMPLES_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "qloapps-samples"
)
KEY = "UNITTESTKEY0123456789ABCDEFGHIJK"


def captured(prefix: str) -> requests.Response:
    """A requests.Response rebuilt from a capture (status, content type, exact body)."""
    meta_path = next(SAMPLES.glob(f"{prefix}-*.meta.json"))
    meta = json.loads(meta_path.read_text())
    body_path = next(p for p in SAMPLES.glob(f"{prefix}-*") if p != meta_path)
    response = requests.Response()
    response.status_code = meta["status"]
    response._content = body_path.read_bytes()
    if meta.get("content_type"):
        response.headers["Content-Type"] = meta["content_type"]
    response.encoding = "utf-8"
    return response


@pytest.mark.parametrize(
    ("prefix", "method", "cls", "family", "codes"),
    [
        ("003", "GET", QloAppsAuthError, PermanentError, (20, 21)),
        ("004", "GET", QloAppsAuthError, PermanentError, ()),
        ("006", "GET", QloAppsAuthError, PermanentError, (18,)),
        ("005", "GET", QloAppsValidationError, PermanentError, (27,)),
        ("023", "GET", QloAppsNotFound, PermanentError, ()),
        ("063", "POST", QloAppsValidationError, PermanentError, (404,)),
        ("113", "PUT", QloAppsValidationError, PermanentError, (404,)),
        ("106", "DELETE", QloAppsMethodNotAllowed, PermanentError, (101,)),
        ("241", "GET", QloAppsMethodNotAllowed, PermanentError, (23,)),
        ("213", "GET", QloAppsServerError, TransientError, ()),
    ],
)
def test_captured_error_answers_map_to_their_class(prefix, method, cls, family, codes):
    err = error_for(method, "/api/bookings/6?output_format=JSON&filter[email]=[a@b.c]", response=captured(prefix))
    assert type(err) is cls and isinstance(err, family)
    assert err.codes == codes
    assert err.path == "/api/bookings/6"  # no query string
    assert "filter" not in str(err) and "a@b.c" not in str(err)


def test_validation_messages_are_kept_for_the_operator():
    err = error_for("POST", "/api/bookings", response=captured("063"))
    assert err.messages == ("Please provide valid currency.",)
    assert "Please provide valid currency." in str(err) and err.status == 400


def test_empty_500_on_post_is_outcome_unknown_with_the_cause():
    err = error_for("POST", "/api/bookings", response=captured("079"))
    assert isinstance(err, QloAppsOutcomeUnknown) and isinstance(err, TransientError)
    assert isinstance(err.cause, QloAppsServerError) and err.status == 500


def test_fatal_error_200_on_post_is_outcome_unknown_and_on_get_bad_response():
    post = error_for("POST", "/api/bookings", response=captured("070"), reason="not JSON")
    assert isinstance(post, QloAppsOutcomeUnknown) and isinstance(post.cause, QloAppsBadResponse)
    assert post.body_excerpt == "Fatal error"
    get = error_for("GET", "/api/orders", response=captured("070"), reason="not JSON")
    assert type(get) is QloAppsBadResponse and isinstance(get, TransientError)


def test_search_post_can_be_declared_idempotent():
    err = error_for("POST", "/api/hotel_ari", response=captured("213"), idempotent=True)
    assert type(err) is QloAppsServerError


def test_a_4xx_on_post_is_not_ambiguous():
    assert type(error_for("POST", "/api/bookings", response=captured("083"))) is QloAppsValidationError


def _refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/api/orders?filter[email]=[x@y.z]", reason))


def test_refused_connection_is_safe_to_retry_even_for_a_post():
    err = error_for("POST", "/api/bookings", exc=_refused())
    assert type(err) is QloAppsConnectionError and isinstance(err, TransientError)
    assert "x@y.z" not in str(err) and "could not connect" in str(err)


def test_read_timeout_and_broken_connection_on_post_are_outcome_unknown():
    timeout = error_for("POST", "/api/bookings", exc=requests.ReadTimeout("read timed out"))
    assert isinstance(timeout, QloAppsOutcomeUnknown) and isinstance(timeout.cause, QloAppsTimeout)
    broken = error_for("PUT", "/api/bookings/3", exc=requests.ConnectionError(ProtocolError("Connection aborted.")))
    assert isinstance(broken, QloAppsOutcomeUnknown) and isinstance(broken.cause, QloAppsConnectionError)
    assert type(error_for("GET", "/api/orders", exc=requests.ReadTimeout("x"))) is QloAppsTimeout
    assert type(error_for("POST", "/api/bookings", exc=requests.ConnectTimeout("x"))) is QloAppsTimeout


def test_body_excerpt_is_capped_and_scrubbed_of_the_key():
    response = requests.Response()
    response.status_code = 500
    response._content = (f'{{"errors":[{{"code":127,"message":"XML error {KEY}"}}]}}' + "x" * 1000).encode()
    response.encoding = "utf-8"
    err = error_for("GET", f"/api/customers?ws_key={KEY}", response=response, secret=KEY)
    assert len(err.body_excerpt) <= 300
    for text in (str(err), repr(err), err.body_excerpt, err.path, " ".join(err.messages)):
        assert KEY not in text
