"""Many QloApps shops in one simulator: /shops/<name>/api/ and /shops/<name>/_sim/, isolated from each other
and from the default shop, plus the server-wide /_sim/shops endpoints and a real pull of two shops."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsReservationMapping
from qlosync.db.session import transaction
from qlosync.qloapps.simulator import ShopSim, Simulator, numbered_names
from qlosync.secrets import Secret
from qlosync.sync.inbound.catalog import import_catalog
from qlosync.sync.inbound.pull import PullDeps, run_pull
from tests.conftest import TEST_API_KEY
from tests.sync_fixtures import simulated_shops
from tests.integration.sync_helpers import actual_booking, expected_booking

AUTH = (TEST_API_KEY, "")


def _orders(base_url: str) -> requests.Response:
    return requests.get(f"{base_url}/api/orders", params={"output_format": "JSON", "display": "[id]"}, auth=AUTH,
                        timeout=10)


def _order_ids(base_url: str) -> set[int]:
    resp = _orders(base_url)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    return {int(row["id"]) for row in doc["orders"]} if doc else set()


@pytest.fixture
def two_shops(simulator: Simulator) -> tuple[ShopSim, ShopSim]:
    first, second = simulator.add_shops(["alpha", "beta"])
    return first, second


def test_named_shops_have_their_own_urls_data_and_xml_links(simulator: Simulator, two_shops: Any) -> None:
    alpha, beta = two_shops
    assert alpha.base_url == f"{simulator.base_url}/shops/alpha"
    assert simulator.shop("beta") is beta
    # A booking created in one shop is in no other (the default shop included)
    order_id = alpha.store.generate_bookings(1, seed=5)[0]
    assert _order_ids(alpha.base_url) == {order_id}
    assert _order_ids(beta.base_url) == set()
    assert _order_ids(simulator.base_url) == set()
    # The same catalogue as the default shop, and links pointing back at the shop's own prefix
    hotels = requests.get(f"{beta.base_url}/api/hotels/1", auth=AUTH, timeout=10)
    assert hotels.status_code == 200 and hotels.headers["PSWS-Version"] == "1.6.1.23"
    root = requests.get(f"{beta.base_url}/api/", auth=AUTH, timeout=10)
    assert f'xlink:href="{beta.base_url}/api/orders"' in root.text
    # The key is checked per shop exactly as on the default one
    assert requests.get(f"{beta.base_url}/api/orders", auth=("W" * 32, ""), timeout=10).status_code == 401


def test_faults_and_counters_are_per_shop(simulator: Simulator, two_shops: Any) -> None:
    alpha, beta = two_shops
    armed = requests.post(f"{alpha.base_url}/_sim/faults", json={"kind": "http_500", "count": None,
                                                                 "path": "/api/orders"}, timeout=10)
    assert armed.status_code == 200
    assert _orders(alpha.base_url).status_code == 500
    assert _orders(beta.base_url).status_code == 200
    assert _orders(simulator.base_url).status_code == 200
    assert alpha.faults.armed and not beta.faults.armed and not simulator.faults.armed

    assert alpha.request_counts["GET /api/orders"] == 1
    assert beta.request_counts["GET /api/orders"] == 1
    assert simulator.request_counts["GET /api/orders"] == 1
    stats = requests.get(f"{beta.base_url}/_sim/stats", timeout=10).json()
    assert stats == {"requests": {"GET /api/orders": 1}, "held": 0, "waiting": 0}
    requests.post(f"{alpha.base_url}/_sim/reset_counts", timeout=10).raise_for_status()
    assert alpha.request_counts == {} and beta.request_counts["GET /api/orders"] == 1


def test_per_shop_control_endpoints_act_on_that_shop_only(simulator: Simulator, two_shops: Any) -> None:
    alpha, beta = two_shops
    created = requests.post(f"{alpha.base_url}/_sim/generate", json={"count": 3, "seed": 1}, timeout=10).json()
    assert created["created"] == 3
    assert len(_order_ids(alpha.base_url)) == 3 and _order_ids(beta.base_url) == set()
    requests.post(f"{alpha.base_url}/_sim/bookings/{created['first_id']}/cancel", timeout=10).raise_for_status()
    assert alpha.store.table("orders")[created["first_id"]]["current_state"] == 4
    requests.post(f"{beta.base_url}/_sim/clock", json={"freeze": "2031-01-02 03:04:05"}, timeout=10)
    assert requests.get(f"{beta.base_url}/_sim/clock", timeout=10).json()["now"] == "2031-01-02 03:04:05"
    assert requests.get(f"{alpha.base_url}/_sim/clock", timeout=10).json()["frozen"] is False
    assert simulator.store.clock.frozen is False


def test_unknown_shop_and_bad_paths_are_bare_404s(simulator: Simulator, two_shops: Any) -> None:
    for url in (f"{simulator.base_url}/shops/nope/api/orders", f"{simulator.base_url}/shops/nope/_sim/stats",
                f"{simulator.base_url}/shops/alpha/elsewhere", f"{simulator.base_url}/shops/alpha"):
        resp = requests.get(url, auth=AUTH, timeout=10)
        assert (resp.status_code, resp.content) == (404, b""), url
        assert "PSWS-Version" not in resp.headers
    with pytest.raises(KeyError):
        simulator.shop("nope")


def test_default_shop_is_unchanged_by_named_shops(simulator: Simulator) -> None:
    before = requests.get(f"{simulator.base_url}/api/room_types", params={"output_format": "JSON"}, auth=AUTH,
                          timeout=10)
    simulator.add_shops(["gamma"], bookings=5)
    after = requests.get(f"{simulator.base_url}/api/room_types", params={"output_format": "JSON"}, auth=AUTH,
                         timeout=10)
    assert after.json() == before.json() and before.headers["PSWS-Version"] == "1.6.1.23"
    assert _order_ids(simulator.base_url) == set()
    assert requests.get(f"{simulator.base_url}/_sim/stats", timeout=10).json()["requests"] == {
        "GET /api/room_types": 2, "GET /api/orders": 1}


def test_add_shops_seeds_each_shop_differently_and_rejects_bad_names(simulator: Simulator) -> None:
    first, second = simulator.add_shops(["h-1", "h-2"], bookings=4)
    emails = [{c["email"] for c in shop.store.table("customers").values() if c["id"] > 1} for shop in (first, second)]
    assert len(first.store.table("orders")) == len(second.store.table("orders")) == 4
    assert emails[0] and emails[0] != emails[1]
    for bad in (["h-1"], ["a/b"], [""], ["x" * 65], ["ok", "ok"]):
        with pytest.raises(ValueError):
            simulator.add_shops(bad)
    assert [shop.name for shop in simulator.shops()] == ["h-1", "h-2"]


def test_shops_control_endpoints_create_report_and_reset(simulator: Simulator) -> None:
    url = f"{simulator.base_url}/_sim/shops"
    by_count = requests.post(url, json={"count": 3, "prefix": "hotel-", "bookings": 2}, timeout=30)
    assert by_count.json() == {"created": ["hotel-0001", "hotel-0002", "hotel-0003"]}
    by_name = requests.post(url, json={"names": ["lake"]}, timeout=30)
    assert by_name.json() == {"created": ["lake"]}
    assert requests.post(url, json={"names": ["lake"]}, timeout=30).status_code == 400
    assert requests.post(url, json={"names": ["../x"]}, timeout=30).status_code == 400
    assert len(_order_ids(f"{simulator.base_url}/shops/hotel-0002")) == 2
    assert _order_ids(f"{simulator.base_url}/shops/lake") == set()

    _orders(f"{simulator.base_url}/shops/hotel-0001")
    _orders(f"{simulator.base_url}/shops/hotel-0001")
    stats = requests.get(f"{url}/stats", timeout=10).json()
    assert set(stats) == {"hotel-0001", "hotel-0002", "hotel-0003", "lake"}
    assert stats["hotel-0001"] == {"requests": {"GET /api/orders": 2}, "held": 0, "waiting": 0}
    assert stats["lake"]["requests"] == {"GET /api/orders": 1}

    requests.post(f"{url}/reset_counts", timeout=10).raise_for_status()
    assert all(entry["requests"] == {} for entry in requests.get(f"{url}/stats", timeout=10).json().values())
    # The default shop's own counters are not the named shops'
    assert simulator.request_counts == {}


def test_numbered_names_are_zero_padded_from_one() -> None:
    assert numbered_names(3, "h") == ["h0001", "h0002", "h0003"]
    assert numbered_names(2, "x-", start=9999) == ["x-09999", "x-10000"]


# ---------------------------------------------------------------------- a real pull of two shops
@pytest.fixture
def pulled_shops(simulator: Simulator, engine: Any, session_factory: Any,
                 secret_key: Secret) -> Iterator[list[tuple[ShopSim, ShopConfig, PullDeps]]]:
    with simulated_shops(simulator, engine, session_factory, secret_key, ["north", "south"]) as shops:
        for _sim, config, deps in shops:
            with transaction(session_factory) as session:
                import_catalog(session, deps.client, config)
        yield shops


def test_a_pull_of_each_of_two_prefixed_shops_brings_that_shops_bookings_only(
    simulator: Simulator, session_factory: Any, pulled_shops: Any
) -> None:
    (north, north_config, north_deps), (south, south_config, south_deps) = pulled_shops
    north_ids = north.store.generate_bookings(6, seed=1)
    south_ids = south.store.generate_bookings(9, seed=2)
    simulator.store.generate_bookings(4, seed=3)  # the default shop is nobody's business here

    reports = [run_pull(north_deps, kind="full"), run_pull(south_deps, kind="full")]

    assert [(r.status, r.counts["created"], r.counts["failed"]) for r in reports] == [
        ("succeeded", 6, 0), ("succeeded", 9, 0)]
    with transaction(session_factory) as session:
        for sim_shop, config, ids in ((north, north_config, north_ids), (south, south_config, south_ids)):
            mapped = set(session.scalars(select(QloAppsReservationMapping.qloapps_order_id).where(
                QloAppsReservationMapping.config_id == config.id)))
            assert mapped == set(ids)
            for order_id in ids:
                assert actual_booking(session, config.id, order_id) == expected_booking(sim_shop, order_id, session)
    # Each shop saw its own requests; the default shop none
    assert north.request_counts["GET /api/orders"] >= 1 and south.request_counts["GET /api/orders"] >= 1
    assert simulator.request_counts["GET /api/orders"] == 0
