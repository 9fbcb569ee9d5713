"""The simulator validates display, filter[...] and sort against each resource's schema, not its rows: the real
QloApps answers 400 code 32 for an unknown filter field whatever the row count (captures 133, 164)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import FeaturePriceRequest
from qlosync.qloapps.simulator import Simulator
from qlosync.qloapps.simulator.generic import SPECS, GenericResources
from qlosync.qloapps.simulator.query import DATE1_FIELDS
from qlosync.secrets import Secret
from tests.conftest import TEST_API_KEY

AUTH = (TEST_API_KEY, "")
RESOURCES = sorted(name for name, spec in SPECS.items() if spec.fields)


def _start(seed_demo: bool) -> Simulator:
    sim = Simulator(api_key=TEST_API_KEY, seed_demo=seed_demo)
    sim.start()
    return sim


@pytest.fixture(scope="module")
def empty() -> Iterator[Simulator]:
    """No demo hotel, customer or bookings: only the reference tables (taxes, currencies, order states) have rows."""
    sim = _start(seed_demo=False)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def full() -> Iterator[Simulator]:
    """The demo data plus bookings (cancelled and refunded too), a feature price and a specific price."""
    sim = _start(seed_demo=True)
    ids = sim.store.generate_bookings(12, seed=9)
    sim.store.cancel_booking(ids[0])
    sim.store.refund_booking(ids[1])
    with QloAppsClient(sim.base_url, Secret(TEST_API_KEY)) as client:
        client.create_feature_price(FeaturePriceRequest(1, date(2027, 1, 1), date(2027, 1, 3), 2, 2, Decimal("10"),
                                                        "test rule"))
    sim.store.insert("specific_prices", {f: "0" for f in SPECS["specific_prices"].fields if f != "id"})
    yield sim
    sim.stop()


def _get(sim: Simulator, resource: str, **params: str) -> requests.Response:
    return requests.get(f"{sim.base_url}/api/{resource}", params={"output_format": "JSON", **params}, auth=AUTH,
                        timeout=10)


def _rows(sim: Simulator, resource: str) -> int:
    return len(sim.store.table(SPECS[resource].table))


def test_the_fixtures_cover_both_cases(empty: Simulator, full: Simulator) -> None:
    assert {r for r in RESOURCES if _rows(full, r) == 0} == set()
    assert {r for r in RESOURCES if _rows(empty, r) == 0} >= {"orders", "room_bookings", "customers", "hotels",
                                                              "feature_prices", "order_histories"}


@pytest.mark.parametrize("resource", RESOURCES)
def test_an_unknown_filter_field_is_the_same_400_on_an_empty_resource(resource: str, empty: Simulator,
                                                                      full: Simulator) -> None:
    on_empty = _get(empty, resource, **{"filter[nonexistent_field]": "[1]"})
    on_full = _get(full, resource, **{"filter[nonexistent_field]": "[1]"})
    assert (on_empty.status_code, on_full.status_code) == (400, 400)
    assert on_empty.json() == on_full.json()
    error = on_empty.json()["errors"][0]
    assert error["code"] == 32 and error["message"].startswith("This filter does not exist. Did you mean: ")


@pytest.mark.parametrize("resource", RESOURCES)
def test_an_unknown_sort_or_display_field_is_the_same_400_on_an_empty_resource(resource: str, empty: Simulator,
                                                                               full: Simulator) -> None:
    for params, code in (({"sort": "[foo_ASC]"}, 38), ({"display": "[id,nonexistent_field]"}, 35)):
        on_empty, on_full = _get(empty, resource, **params), _get(full, resource, **params)
        assert (on_empty.status_code, on_full.status_code) == (400, 400), params
        assert on_empty.json() == on_full.json()
        assert on_empty.json()["errors"][0]["code"] == code


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_schema_field_can_be_filtered_on_an_empty_resource(resource: str, empty: Simulator) -> None:
    spec = SPECS[resource]
    fields = spec.filter_fields or tuple(f for f in spec.fields if f not in DATE1_FIELDS)
    nothing = [] if _rows(empty, resource) == 0 else None  # the reference tables have rows even here
    for field in fields:
        resp = _get(empty, resource, **{f"filter[{field}]": "[999999]", "sort": f"[{field}_ASC]"})
        assert resp.status_code == 200, (field, resp.text[:200])
        assert nothing is None or resp.json() == nothing, field
    if DATE1_FIELDS & set(spec.fields):
        field = sorted(DATE1_FIELDS & set(spec.fields))[0]
        # date fields only with date=1 (B28), on an empty resource as on a full one
        assert _get(empty, resource, **{f"filter[{field}]": ">[2999-01-01 00:00:00]"}).status_code == 400
        resp = _get(empty, resource, date="1", **{f"filter[{field}]": ">[2999-01-01 00:00:00]"})
        assert (resp.status_code, resp.json()) == (200, [])


@pytest.mark.parametrize("resource", RESOURCES)
def test_the_schema_is_what_the_record_builders_write(resource: str, full: Simulator) -> None:
    # The rows the simulator itself creates (bookings, histories, payments, POSTed rules, the demo data)
    # have exactly the schema's fields, so the schema and the rows never disagree.
    resources = GenericResources(full.store)
    spec = SPECS[resource]
    with full.store.lock:
        keys = {tuple(k for k in resources.present(spec, row) if k != "associations")
                for row in full.store.table(spec.table).values()}
    assert keys == {spec.fields}


def test_an_unknown_resource_without_rows_still_accepts_any_filter(empty: Simulator) -> None:
    # carts and the like: no capture shows their fields, so the simulator cannot tell (docs/simulator.md)
    assert _get(empty, "carts", **{"filter[anything]": "[1]"}).json() == []


def _client_listings(client: QloAppsClient) -> dict[str, Any]:
    """Every listing qlosync's client makes (each filter and sort it uses)."""
    return {
        "orders": client.get_orders([1, 2]),
        "room_bookings_for_orders": client.get_room_bookings_for_orders([1, 2]),
        "room_bookings_between": client.get_room_bookings_between(1, date(2027, 1, 1), date(2027, 1, 5)),
        "customers": client.get_customers([1, 2]),
        "customers_by_email": client.find_customers_by_email("nobody@example.com"),
        "customers_by_name": client.find_customers_by_name("No", "Body"),
        "orders_of_customers": client.get_orders_of_customers([1, 2]),
        "newest_orders": client.get_newest_orders(3),
        "changed_since": [o for page in client.iter_orders_changed_since(None) for o in page],
        "changed_since_cursor": [o for page in client.iter_orders_changed_since((datetime(2026, 11, 27, 5, 0), 1))
                                 for o in page],
        "all_orders": [o for page in client.iter_all_orders() for o in page],
        "latest_cursor": client.latest_order_cursor(),
        "hotels": client.get_hotels(),
        "room_types": client.get_room_types(),
        "hotel_rooms": client.get_hotel_rooms(),
        "order_states": client.get_order_states(),
        "currencies": client.get_currency_codes(),
        "feature_prices": client.get_feature_prices(1),
    }


def test_qlosync_client_filters_and_sorts_only_on_fields_qloapps_has(empty: Simulator, full: Simulator) -> None:
    # On an empty shop every field is now checked too: a filter on a field the real server lacks is a 400 here
    for sim in (empty, full):
        with QloAppsClient(sim.base_url, Secret(TEST_API_KEY)) as client:
            listings = _client_listings(client)
        assert listings["order_states"]  # reference data on both
    assert listings["orders"] and listings["changed_since"] and listings["latest_cursor"]  # the full shop
