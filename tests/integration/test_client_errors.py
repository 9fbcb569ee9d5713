"""Every QloApps error class, raised by the client over real HTTP against the simulator.

Each raised error also goes through :func:`assert_keyless`: the API key must appear in no message, repr,
attribute, cause, traceback or log line.
"""

from __future__ import annotations

import logging
import socket
import traceback
from datetime import date

import pytest
import requests

from qlosync.errors import PermanentError, TransientError
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.errors import (
    QloAppsAuthError,
    QloAppsBadResponse,
    QloAppsConnectionError,
    QloAppsError,
    QloAppsMethodNotAllowed,
    QloAppsNotFound,
    QloAppsOutcomeUnknown,
    QloAppsServerError,
    QloAppsTimeout,
    QloAppsValidationError,
    error_for,
)
from qlosync.qloapps.models import BookingRequest, CustomerDetail, RoomRequest, RoomTypeRequest
from qlosync.secrets import Secret
from tests.conftest import TEST_API_KEY

WRONG_KEY = "WRONGKEY0000000000000000000000XX"
SECRETS = (TEST_API_KEY, WRONG_KEY)


@pytest.fixture
def client(simulator):
    with QloAppsClient(simulator.base_url, Secret(TEST_API_KEY)) as c:
        yield c


@pytest.fixture(autouse=True)
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's request lines included
    return caplog


def assert_keyless(err: BaseException, caplog) -> None:
    texts = [str(err), repr(err), "".join(traceback.format_exception(err)), repr(vars(err))]
    cause = err.__cause__ or getattr(err, "cause", None)
    while cause is not None:
        texts += [str(cause), repr(cause), repr(vars(cause))]
        cause = cause.__cause__ or getattr(cause, "cause", None)
    texts += [r.getMessage() + repr(vars(r)) for r in caplog.records]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def raised(cls, fn, caplog):
    with pytest.raises(cls) as info:
        fn()
    assert_keyless(info.value, caplog)
    return info.value


def booking_request(**changes) -> BookingRequest:
    fields = dict(
        id_property=1,
        currency="USD",
        source="qlosync-test",
        customer=CustomerDetail("Ivan", "Petrov", "ivan.petrov@example.com", "0611223344"),
        room_types=(RoomTypeRequest(1, date(2027, 3, 1), date(2027, 3, 3), rooms=(RoomRequest(adults=2),)),),
    )
    fields.update(changes)
    return BookingRequest(**fields)


def test_wrong_key_is_a_permanent_auth_error(simulator, caplog):
    with QloAppsClient(simulator.base_url, Secret(WRONG_KEY)) as bad:
        err = raised(QloAppsAuthError, bad.ping, caplog)
    assert isinstance(err, PermanentError) and err.status == 401 and {20, 21} <= set(err.codes)


def test_missing_key_is_a_401_with_html(simulator, caplog):
    response = requests.get(simulator.base_url + "/api/", params={"output_format": "JSON"}, timeout=5)
    err = error_for("GET", "/api/", response=response)
    assert type(err) is QloAppsAuthError and err.status == 401 and err.details == ()
    assert_keyless(err, caplog)


def test_unauthorized_fault(client, simulator, caplog):
    simulator.faults.add("unauthorized", count=1)
    raised(QloAppsAuthError, client.get_order_states, caplog)
    assert client.get_order_states()  # the fault was used up


def test_missing_booking_is_not_found(client, caplog):
    err = raised(QloAppsNotFound, lambda: client.get_booking(99999), caplog)
    assert err.status == 404 and err.body_excerpt == "" and err.path == "/api/bookings/99999"


def test_validation_error_keeps_qloapps_messages(client, caplog):
    err = raised(QloAppsValidationError, lambda: client.create_booking(booking_request(id_property=99)), caplog)
    assert err.status == 400 and err.codes == (404,)
    assert err.messages == ("Please provide a valid id_property.",)


def test_delete_is_method_not_allowed(client, simulator, caplog):
    booking_id = client.create_booking(booking_request()).id
    err = raised(QloAppsMethodNotAllowed, lambda: client._request("DELETE", f"bookings/{booking_id}"), caplog)
    assert err.status == 405 and 101 in err.codes
    assert client.get_booking(booking_id).id == booking_id


def test_empty_500_on_get_is_transient_server_error(client, simulator, caplog):
    simulator.faults.add("http_500", count=1, method="GET", path="/api/orders")
    err = raised(QloAppsServerError, lambda: list(client.iter_all_orders()), caplog)
    assert isinstance(err, TransientError) and err.status == 500


def test_500_on_post_is_outcome_unknown(client, simulator, caplog):
    simulator.faults.add("http_500", count=1, method="POST", path="/api/bookings")
    err = raised(QloAppsOutcomeUnknown, lambda: client.create_booking(booking_request()), caplog)
    assert isinstance(err.cause, QloAppsServerError) and isinstance(err, TransientError)


def test_write_committed_then_500_is_outcome_unknown_and_the_booking_exists(client, simulator, caplog):
    before = {o.id for page in client.iter_all_orders() for o in page}
    simulator.faults.add("error_after_commit", count=1, method="POST", path="/api/bookings")
    raised(QloAppsOutcomeUnknown, lambda: client.create_booking(booking_request()), caplog)
    after = {o.id for page in client.iter_all_orders() for o in page}
    assert len(after - before) == 1  # exactly why callers must reconcile before re-sending


def test_fatal_error_html_200_on_post_is_outcome_unknown(client, simulator, caplog):
    simulator.faults.add("fatal_html", count=1, method="POST", path="/api/bookings")
    err = raised(QloAppsOutcomeUnknown, lambda: client.create_booking(booking_request()), caplog)
    assert isinstance(err.cause, QloAppsBadResponse) and err.status == 200
    assert "Fatal error" in err.body_excerpt


def test_an_error_page_answering_a_post_marks_the_wrapped_answer_garbled(client, simulator, caplog):
    simulator.faults.add("fatal_html", count=1, method="POST", path="/api/bookings")
    err = raised(QloAppsOutcomeUnknown, lambda: client.create_booking(booking_request()), caplog)
    assert isinstance(err.cause, QloAppsBadResponse) and err.cause.garbled


def test_fatal_error_html_200_on_get_is_bad_response(client, simulator, caplog):
    simulator.faults.add("fatal_html", count=1, method="GET", path="/api/orders")
    err = raised(QloAppsBadResponse, lambda: client.get_orders([1]), caplog)
    assert isinstance(err, TransientError) and not isinstance(err, QloAppsOutcomeUnknown)


def test_read_timeout(simulator, caplog):
    simulator.faults.add("timeout", count=2, delay_s=2.0)
    with QloAppsClient(simulator.base_url, Secret(TEST_API_KEY), read_timeout=0.2) as quick:
        err = raised(QloAppsTimeout, quick.get_order_states, caplog)
        assert isinstance(err, TransientError)
        unknown = raised(QloAppsOutcomeUnknown, lambda: quick.create_booking(booking_request()), caplog)
        assert isinstance(unknown.cause, QloAppsTimeout)


def test_connection_refused_is_transient_and_not_ambiguous_for_a_post(caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with QloAppsClient(f"http://127.0.0.1:{port}", Secret(TEST_API_KEY), connect_timeout=1.0) as dead:
        get = raised(QloAppsConnectionError, dead.ping, caplog)
        post = raised(QloAppsConnectionError, lambda: dead.create_booking(booking_request()), caplog)
        assert dead.request_count == 2
    assert isinstance(get, TransientError) and not isinstance(post, QloAppsOutcomeUnknown)


def test_every_error_class_is_a_qloapps_error_of_exactly_one_family():
    for cls in (QloAppsAuthError, QloAppsNotFound, QloAppsValidationError, QloAppsMethodNotAllowed,
                QloAppsServerError, QloAppsTimeout, QloAppsConnectionError, QloAppsBadResponse, QloAppsOutcomeUnknown):
        assert issubclass(cls, QloAppsError)
        assert issubclass(cls, TransientError) != issubclass(cls, PermanentError)


def test_debug_log_has_method_path_status_and_no_query(client, caplog):
    client.find_customers_by_email("alice.walker@example.com")
    lines = [r.getMessage() for r in caplog.records if r.name == "qlosync.qloapps.client"]
    assert any(line.startswith("QloApps GET /api/customers -> 200 in ") for line in lines)
    assert not any("alice" in line or "?" in line for line in lines)
