"""Focused checks of the QloApps simulator's quirks, faults, counters and control interface (over HTTP)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from tests.conftest import TEST_API_KEY

AUTH = (TEST_API_KEY, "")


def _booking(email: str = "ann.lee@example.com", checkin: str = "2027-03-01", checkout: str = "2027-03-03",
             room_type: int = 1, rooms: int = 1, **extra: Any) -> dict[str, Any]:
    inner = {"id_property": 1, "currency": "USD", "booking_status": 1, "payment_status": 3, "source": "test",
             "associations": {"customer_detail": {"firstname": "Ann", "lastname": "Lee", "email": email,
                                                  "phone": "0600000000"},
                              "room_types": [{"id_room_type": room_type, "checkin_date": checkin,
                                              "checkout_date": checkout, "number_of_rooms": rooms}]}}
    inner.update(extra)
    return inner


def _get(sim: Any, path: str, **params: str) -> requests.Response:
    return requests.get(f"{sim.base_url}/api/{path}", params={"output_format": "JSON", **params}, auth=AUTH,
                        timeout=10)


def _post_booking(sim: Any, inner: dict[str, Any], timeout: float = 10) -> requests.Response:
    return requests.post(f"{sim.base_url}/api/bookings?output_format=JSON", json={"booking": inner}, auth=AUTH,
                         timeout=timeout)


def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def test_date_change_replaces_the_room_line(simulator: Any) -> None:
    order_id = simulator.store.create_booking(_booking())
    old_line = _get(simulator, f"bookings/{order_id}").json()["booking"]["associations"]["room_types"][0]["rooms"][0]
    put = _booking(id=order_id, checkin="2027-03-02", checkout="2027-03-04")
    resp = requests.put(f"{simulator.base_url}/api/bookings/{order_id}?output_format=JSON", json={"booking": put},
                        auth=AUTH, timeout=10)
    assert resp.status_code == 200
    new_line = resp.json()["booking"]["associations"]["room_types"][0]["rooms"][0]
    assert new_line["id_hotel_booking"] != old_line["id_hotel_booking"]
    assert new_line["id_room"] != old_line["id_room"]  # allocated while the old line still held its room
    assert _get(simulator, f"room_bookings/{old_line['id_hotel_booking']}").status_code == 404
    order = _get(simulator, f"orders/{order_id}").json()["order"]
    assert order["associations"]["bookings"] == [{"id": new_line["id_hotel_booking"]}]


def test_cancel_bumps_orders_date_upd_but_not_room_bookings(simulator: Any) -> None:
    clock = simulator.store.clock
    clock.freeze("2026-11-27 05:00:00")
    order_id = simulator.store.create_booking(_booking())
    clock.advance(30)
    simulator.store.cancel_booking(order_id)
    order = _get(simulator, f"orders/{order_id}").json()["order"]
    assert (order["current_state"], order["date_upd"]) == (4, "2026-11-27 05:00:30")
    lines = _get(simulator, "room_bookings", display="[id,is_cancelled,is_refunded,date_upd]",
                 **{"filter[id_order]": f"[{order_id}]"}).json()["bookings"]
    assert [(l["is_cancelled"], l["is_refunded"], l["date_upd"]) for l in lines] == [(1, 1, "2026-11-27 05:00:00")]
    changed = _get(simulator, "room_bookings", display="[id]", date="1",
                   **{"filter[date_upd]": ">[2026-11-27 05:00:10]"})
    assert changed.json() == []


def test_date_upd_is_second_granular_and_strict_gt_skips_same_second(simulator: Any) -> None:
    simulator.store.clock.freeze("2026-11-27 05:00:00")
    ids = [simulator.store.create_booking(_booking(checkin=f"2027-04-{d:02d}", checkout=f"2027-04-{d + 1:02d}"))
           for d in (1, 2, 3)]
    rows = _get(simulator, "orders", display="[id,date_upd]", date="1", sort="[date_upd_ASC,id_ASC]").json()
    assert [r["date_upd"] for r in rows["orders"]] == ["2026-11-27 05:00:00"] * 3
    assert _get(simulator, "orders", display="[id]", date="1",
                **{"filter[date_upd]": ">[2026-11-27 05:00:00]"}).json() == []
    both = _get(simulator, "orders", display="[id]", date="1",
                **{"filter[date_upd]": "[2026-11-27 05:00:00,2026-11-27 05:00:00]"}).json()["orders"]
    assert [r["id"] for r in both] == ids
    assert _get(simulator, "orders", display="[id,date_upd]",
                **{"filter[date_upd]": ">[2026-11-27]"}).json()["errors"][0]["code"] == 32


def test_listing_paging_sort_and_empty_list(simulator: Any) -> None:
    for d in range(1, 8):
        simulator.store.create_booking(_booking(checkin=f"2027-05-{d:02d}", checkout=f"2027-05-{d + 1:02d}"))
    page = _get(simulator, "orders", display="[id]", sort="[id_DESC]", limit="2,3").json()["orders"]
    assert [r["id"] for r in page] == [5, 4, 3]
    assert _get(simulator, "orders", display="[id]", limit="100,5").json() == []
    assert _get(simulator, "orders", sort="[foo_ASC]").json()["errors"][0]["code"] == 38


@pytest.mark.parametrize("kind,status,ctype", [("http_500", 500, "text/html"), ("fatal_html", 200, "text/html"),
                                               ("unauthorized", 401, "application/json")])
def test_simple_faults(simulator: Any, kind: str, status: int, ctype: str) -> None:
    simulator.faults.add(kind, count=1, method="GET", path="/api/orders")
    assert _get(simulator, "room_bookings").status_code == 200  # other path: unaffected
    faulty = _get(simulator, "orders")
    assert faulty.status_code == status and faulty.headers["Content-Type"].startswith(ctype)
    if kind == "unauthorized":
        assert [e["code"] for e in faulty.json()["errors"]] == [20, 21]
    assert _get(simulator, "orders").status_code == 200  # count=1 consumed


def test_timeout_and_latency_faults(simulator: Any) -> None:
    simulator.faults.add("timeout", count=1, path="/api/orders", delay_s=2)
    with pytest.raises(requests.Timeout):
        requests.get(f"{simulator.base_url}/api/orders", auth=AUTH, timeout=0.2)
    simulator.faults.add("latency", count=1, path="/api/orders", delay_s=0.3)
    started = time.monotonic()
    assert _get(simulator, "orders").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_error_after_commit_creates_the_booking(simulator: Any) -> None:
    simulator.faults.add("error_after_commit", method="POST", path="/api/bookings")
    resp = _post_booking(simulator, _booking())
    assert (resp.status_code, resp.content) == (500, b"")
    listed = _get(simulator, "bookings").json()["bookings"]
    assert [b["id"] for b in listed] == [1]


def test_hold_blocks_until_release(simulator: Any) -> None:
    simulator.faults.add("hold", count=None, path="/api/bookings")
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(_post_booking(simulator, _booking()).status_code))
    worker.start()
    _until(lambda: simulator.faults.held == 1)
    assert results == []
    simulator.faults.clear()
    simulator.faults.release()
    worker.join(timeout=5)
    assert results == [200]


def test_request_counts(simulator: Any) -> None:
    _get(simulator, "orders")
    _get(simulator, "orders/1")
    _post_booking(simulator, _booking())
    assert simulator.request_counts["GET /api/orders"] == 2
    assert simulator.request_counts["POST /api/bookings"] == 1
    simulator.reset_counts()
    assert sum(simulator.request_counts.values()) == 0


def test_generate_ten_thousand_bookings(simulator: Any) -> None:
    ids = simulator.store.generate_bookings(10_000, seed=1)
    assert len(ids) == len(set(ids)) == 10_000
    states = {o["current_state"] for o in simulator.store.tables["orders"].values()}
    assert states <= {1, 2, 4, 5, 8} and len(states) >= 4


def test_http_control_interface(simulator: Any) -> None:
    ctl = simulator.base_url + "/_sim"
    assert requests.post(ctl + "/generate", json={"count": 3, "seed": 7}, timeout=10).json()["created"] == 3
    assert requests.post(ctl + "/clock", json={"freeze": "2026-11-27 06:00:00"}, timeout=10).ok
    assert requests.post(ctl + "/bookings/2/cancel", timeout=10).ok
    order = _get(simulator, "orders/2").json()["order"]
    assert (order["current_state"], order["date_upd"]) == (4, "2026-11-27 06:00:00")
    assert requests.post(ctl + "/faults", json={"kind": "http_500", "count": 1, "path": "/api/orders"},
                         timeout=10).ok
    assert _get(simulator, "orders").status_code == 500
    stats = requests.get(ctl + "/stats", timeout=10).json()
    assert stats["requests"]["GET /api/orders"] == 2
    assert requests.post(ctl + "/faults/clear", timeout=10).ok and requests.post(ctl + "/release", timeout=10).ok


def test_booking_quirks(simulator: Any) -> None:
    created = _post_booking(simulator, _booking(associations=None) | {"associations": {
        "customer_detail": {"firstname": "Bo", "lastname": "Ek", "email": "bo@example.com", "phone": "1"},
        "room_types": [{"id_room_type": 2, "checkin_date": "2027-06-01", "checkout_date": "2027-06-03",
                        "number_of_rooms": 1, "rooms": [{"adults": 1, "child": 2}]}]}}).json()["booking"]
    room = created["associations"]["room_types"][0]["rooms"][0]
    assert (room["adults"], room["child"], room["unit_price_without_tax"]) == (2, 0, 3000)  # B13, B14, B8
    assert "booking_status" not in str(created)
    bad = _post_booking(simulator, _booking(email="not-an-email"))
    assert (bad.status_code, bad.text) == (200, "Fatal error")
    digits = _post_booking(simulator, _booking(email="x@example.com") | {"associations": {
        "customer_detail": {"firstname": "J2", "lastname": "S", "email": "x@example.com", "phone": "1"},
        "room_types": [{"id_room_type": 1, "checkin_date": "2027-06-01", "checkout_date": "2027-06-02",
                        "number_of_rooms": 1}]}})
    assert (digits.status_code, digits.content) == (500, b"")
    assert len(simulator.store.tables["orders"]) == 1
    delete = requests.delete(f"{simulator.base_url}/api/bookings/1?output_format=JSON", auth=AUTH, timeout=10)
    assert delete.status_code == 405 and delete.json()["errors"][0]["code"] == 101


# -- the cost model: a real server's time per request, the network's latency, the server's workers -------------


def test_latency_comes_on_top_of_every_request(simulator: Any) -> None:
    simulator.request_cost_ms = "latency=250"
    started = time.monotonic()
    assert _get(simulator, "orders").status_code == 200
    assert time.monotonic() - started >= 0.25


def test_a_server_of_one_worker_serves_one_request_at_a_time(simulator: Any) -> None:
    simulator.request_cost_ms = "workers=1"
    simulator.faults.add("hold", count=1, method="GET", path="/api/orders")
    answers: list[int] = []
    threads = [threading.Thread(target=lambda p=p: answers.append(_get(simulator, p).status_code))
               for p in ("orders", "customers")]
    threads[0].start()
    _until(lambda: simulator.faults.held == 1)
    threads[1].start()
    # The customers request waits for the one worker, busy with the held orders request
    _until(lambda: simulator.default_shop.waiting == 1)
    assert simulator.request_counts["GET /api/customers"] == 0
    simulator.faults.release()
    for thread in threads:
        thread.join(timeout=5)
    assert answers == [200, 200] and simulator.request_counts["GET /api/customers"] == 1
    assert simulator.default_shop.stats()["waiting"] == 0


def test_a_cost_model_without_workers_serves_requests_side_by_side(simulator: Any) -> None:
    simulator.request_cost_ms = "orders=10"
    simulator.faults.add("hold", count=1, method="GET", path="/api/orders")
    worker = threading.Thread(target=lambda: _get(simulator, "orders"))
    worker.start()
    _until(lambda: simulator.faults.held == 1)
    assert _get(simulator, "customers").status_code == 200  # not queued behind the held one
    simulator.faults.release()
    worker.join(timeout=5)


@pytest.mark.parametrize("spec", ["workers=0", "latency=-1", "orders=fast"])
def test_a_bad_cost_model_is_refused(simulator: Any, spec: str) -> None:
    answer = requests.post(f"{simulator.base_url}/_sim/request_cost", json={"ms": spec}, timeout=5)
    assert answer.status_code == 400, answer.text


def test_the_real_shop_cost_model_is_the_measured_one() -> None:
    from qlosync.qloapps.simulator.shop import REAL_SHOP_COST, parse_request_cost

    cost = parse_request_cost(REAL_SHOP_COST)
    # Issue 22's measurements of a real QloApps 1.6.1 on 2 cores, per page of 100
    assert 150 <= cost["orders"] <= 190 and 115 <= cost["room_bookings"] <= 150 and 90 <= cost["customers"] <= 117
    assert cost["bookings/id"] == 47 and cost["workers"] == 2
