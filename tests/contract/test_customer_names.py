"""Contract: customer names QloApps cannot store are answered the way the real server answers a bad name.

QloApps (PrestaShop 1.6) validates the customer a booking creates or renames with its Customer class:
firstname and lastname at most 32 characters and ``Validate::isName`` (no digits nor ``!<>,;?=+()@#"°{}_$%:``),
e-mail at most 128 characters. A failed check is an uncaught exception: HTTP 500 with an empty body and
nothing written, as capture 079 shows for digits. Its tables are ``utf8`` (3 bytes) under ``sql_mode = ''``,
so MySQL keeps only the text before the first character beyond U+FFFF (an emoji), with a warning.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from qlosync.qloapps.simulator import Simulator
from tests.contract.captures import TEST_API_KEY, Capture, structural_differences


@pytest.fixture
def sim(scratch_simulator: Simulator) -> Simulator:
    return scratch_simulator


def _post_like(capture: Capture, sim: Simulator, **customer: str) -> requests.Response:
    """Capture 079's POST with other customer details."""
    body = json.loads(capture.meta["request_body"])
    body["booking"]["associations"]["customer_detail"].update(customer)
    return requests.post(f"{sim.base_url}/api/bookings?output_format=JSON", data=json.dumps(body).encode(),
                         auth=(TEST_API_KEY, ""), timeout=30)


def _customers(sim: Simulator) -> list[dict[str, Any]]:
    return list(sim.store.table("customers").values())


@pytest.mark.parametrize("customer", [
    {"firstname": "J" * 33, "lastname": "Smith"},
    {"firstname": "John", "lastname": "S" * 33},
    {"firstname": "John", "lastname": "Smith", "email": "j" * 117 + "@example.com"},  # 129 characters
], ids=["firstname-33", "lastname-33", "email-129"])
def test_a_field_longer_than_the_customer_column_is_answered_like_capture_079(
    captures: dict[str, Capture], sim: Simulator, customer: dict[str, str]
) -> None:
    orders, customers = len(sim.store.table("orders")), len(_customers(sim))
    resp = _post_like(captures["079"], sim, email=customer.pop("email", "long.names@example.com"), **customer)
    assert structural_differences(captures["079"], resp.status_code, resp.headers.get("Content-Type"),
                                  resp.content) == []
    assert (len(sim.store.table("orders")), len(_customers(sim))) == (orders, customers)


def test_32_characters_are_stored_whole(captures: dict[str, Capture], sim: Simulator) -> None:
    resp = _post_like(captures["079"], sim, firstname="J" * 32, lastname="S" * 32, email="max.names@example.com")
    assert resp.status_code == 200, resp.text
    stored = next(c for c in _customers(sim) if c["email"] == "max.names@example.com")
    assert (stored["firstname"], stored["lastname"]) == ("J" * 32, "S" * 32)


def test_an_emoji_cuts_the_stored_name_where_it_starts(captures: dict[str, Capture], sim: Simulator) -> None:
    resp = _post_like(captures["079"], sim, firstname="Zoë\U0001F600Ann", lastname="Smith", email="zoe@example.com")
    assert resp.status_code == 200, resp.text
    stored = next(c for c in _customers(sim) if c["email"] == "zoe@example.com")
    assert stored["firstname"] == "Zoë"


def test_a_put_renaming_the_customer_to_a_name_with_digits_is_a_500_and_renames_nothing(
    captures: dict[str, Capture], sim: Simulator
) -> None:
    created = _post_like(captures["079"], sim, firstname="Ivan", lastname="Petrov", email="ivan.put@example.com")
    assert created.status_code == 200, created.text
    booking = created.json()["booking"]
    body = json.loads(captures["079"].meta["request_body"])
    body["booking"]["id"] = booking["id"]
    body["booking"]["associations"]["customer_detail"].update(
        firstname="Ivan", lastname="Petrov2", email="ivan.put@example.com")
    resp = requests.put(f"{sim.base_url}/api/bookings?output_format=JSON", data=json.dumps(body).encode(),
                        auth=(TEST_API_KEY, ""), timeout=30)
    assert structural_differences(captures["079"], resp.status_code, resp.headers.get("Content-Type"),
                                  resp.content) == []
    stored = next(c for c in _customers(sim) if c["email"] == "ivan.put@example.com")
    assert stored["lastname"] == "Petrov"
