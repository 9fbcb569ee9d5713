"""The simulator's listings read only the rows an id filter (or one on an indexed field) keeps: the answers,
and their order, must be exactly those of reading every row by id (what every listing did before: a full
import of 100,000 bookings was quadratic in the simulator). The reference here is that scan."""

from __future__ import annotations

from typing import Any

import pytest

from qlosync.qloapps.simulator.generic import GenericResources
from qlosync.qloapps.simulator.query import ListQuery, apply_query, narrow
from qlosync.qloapps.simulator.store import INDEXED_FIELDS, Store

FILTERS = [
    "[3]", "[3|7|11]", "[7|3|3|999999]", "[3.0]", "[ 3]", "[0003]", "[abc]", "[ABC|5]", "[]", "[|]", "[1e1]",
    "[inf]", "[nan]", "[-2]", "[3,7]", "[3|7,9]", ">[5]", "<[5]", "%[1]%", "[1]%", "%[1]", "7", "[12345678901234567890]",
]


def _scan(table: dict[int, dict[str, Any]], q: ListQuery) -> list[dict[str, Any]]:
    """Every row by id, each filter over all of them, then sort and page: the listing as it was."""
    return apply_query([table[rid] for rid in sorted(table)], q)


def _listed(store: Store, name: str, q: ListQuery) -> list[dict[str, Any]]:
    rows, rest, by_int_id = narrow(store.table(name), q.filters)
    return apply_query(rows, q, rest, by_int_id)


def _query(filters: list[tuple[str, str]], sort: list[tuple[str, bool]] | None = None, offset: int = 0,
           count: int | None = None) -> ListQuery:
    return ListQuery(None, True, filters, [("id", False)] if sort is None else sort, offset, count)


@pytest.fixture()
def store() -> Store:
    store = Store(seed_demo=True)
    store.generate_bookings(60, seed=3)
    # Rows the generic POST or a test can leave: values of other types than the generated ones.
    lines = store.table("room_bookings")
    template = dict(lines[min(lines)])
    for value in ("7", "7.0", " 7", "ABC", None, 3.0, True, "1e1"):
        store.insert("room_bookings", {**template, "id_order": value})
    return store


@pytest.mark.parametrize("field", ["id", "id_order", "id_customer", "id_product"])
@pytest.mark.parametrize("raw", FILTERS)
def test_filtered_listing_is_the_scan(store: Store, field: str, raw: str) -> None:
    for name in ("room_bookings", "orders", "customers"):
        q = _query([(field, raw)])
        assert [r["id"] for r in _listed(store, name, q)] == [r["id"] for r in _scan(store.table(name), q)], (name, raw)


def test_two_filters_any_order_and_paging(store: Store) -> None:
    for filters in ([("id_order", "[3|4|5|6|7]"), ("id_product", "[1|2]")],
                    [("id_product", "[1|2]"), ("id_order", "[3|4|5|6|7]")],
                    [("id", ">[10]"), ("id", "[11|12|13|40]")],
                    [("id_order", "[3|4|5]"), ("id", "[1|2|3|4|5|6|7|8|9]")]):
        for offset, count in ((0, None), (0, 2), (1, 3), (50, 5)):
            q = _query(filters, offset=offset, count=count)
            table = store.table("room_bookings")
            assert _listed(store, "room_bookings", q) == _scan(table, q), (filters, offset, count)


def test_descending_and_unfiltered_pages_keep_their_order(store: Store) -> None:
    table = store.table("orders")
    for q in (_query([], offset=0, count=10), _query([], offset=55, count=10), _query([], sort=[("id", True)], count=7),
              _query([("id_customer", "[2|3|4]")], sort=[("id", True)])):
        assert [r["id"] for r in _listed(store, "orders", q)] == [r["id"] for r in _scan(table, q)]


def test_writes_are_seen_by_the_next_listing(store: Store) -> None:
    """Inserts, deletes, a replaced row and a generic PUT that changes an indexed field in place."""
    lines = store.table("room_bookings")
    q = _query([("id_order", "[3|999]")])
    assert _listed(store, "room_bookings", q) == _scan(lines, q)  # indexes built
    store.generate_bookings(5, seed=4)
    new_id = store.insert("room_bookings", {**lines[min(lines)], "id_order": 999})
    assert new_id in [r["id"] for r in _listed(store, "room_bookings", q)]
    lines.pop(new_id)
    assert _listed(store, "room_bookings", q) == _scan(lines, q)
    victim = next(rid for rid, r in lines.items() if r["id_order"] == 3)
    lines[victim] = {**lines[victim], "id_order": 4}
    assert victim not in [r["id"] for r in _listed(store, "room_bookings", q)]
    other = next(rid for rid, r in lines.items() if r["id_order"] == 5)
    GenericResources(store).update("room_bookings", other, b"<qloapps><booking><id_order>999</id_order>"
                                                           b"</booking></qloapps>", as_json=True)
    assert other in [r["id"] for r in _listed(store, "room_bookings", q)]
    assert _listed(store, "room_bookings", q) == _scan(lines, q)


def test_rows_are_live_and_the_shared_list_is_never_answered(store: Store) -> None:
    """A field changed in place (a cancellation) shows at once; changing an answer leaves the table alone."""
    orders = store.table("orders")
    q = _query([])
    first = _listed(store, "orders", q)
    store.cancel_booking(first[0]["id"])
    assert _listed(store, "orders", q)[0]["current_state"] == 4
    first.clear()
    assert len(_listed(store, "orders", q)) == len(orders)


def test_ids_that_are_not_keys_fall_back_to_reading_every_row() -> None:
    store = Store(seed_demo=True)
    store.table("specific_prices")[5] = {"id": "5", "price": "1"}
    store.table("specific_prices")[6] = {"id": 8, "price": "2"}
    q = _query([("id", "[5|6|8]")])
    assert _listed(store, "specific_prices", q) == _scan(store.table("specific_prices"), q)


def test_indexed_fields_are_never_changed_in_place_by_the_booking_engine() -> None:
    """The index's promise: bookings.py writes these fields only when it creates a row."""
    import inspect

    from qlosync.qloapps.simulator import bookings

    source = inspect.getsource(bookings)
    for fields in INDEXED_FIELDS.values():
        for field in fields:
            assert f'["{field}"] =' not in source, field
