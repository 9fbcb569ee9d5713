"""The (date_upd, id) pager against an in-memory order table that changes while it is paged."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from qlosync.qloapps.errors import QloAppsPagingError
from qlosync.qloapps.models import Order
from qlosync.qloapps.paging import iter_changed_pages, iter_id_pages

T0 = datetime(2026, 11, 27, 5, 0, 0)


def order(oid: int, upd: datetime) -> Order:
    zero = Decimal(0)
    return Order(oid, 1, 1, upd, upd, f"REF{oid}", "test", 1, zero, zero, zero, zero, zero, zero, zero, ())


class Table:
    """Mimics /api/orders with date=1, filter >= lower, sort [date_upd_ASC,id_ASC], limit offset,count."""

    def __init__(self, orders: list[Order]) -> None:
        self.rows = {o.id: o for o in orders}
        self.calls = 0
        self.on_call = None

    def fetch(self, lower, offset, count):
        self.calls += 1
        if self.on_call:
            self.on_call(self)
        rows = sorted((o for o in self.rows.values() if lower is None or o.date_upd >= lower), key=lambda o: o.cursor)
        return rows[offset : offset + count]

    def touch(self, oid: int, upd: datetime) -> None:
        self.rows[oid] = replace(self.rows[oid], date_upd=upd)


def ids(pages):
    return [o.id for page in pages for o in page]


def test_many_orders_in_one_second_are_each_yielded_once():
    table = Table([order(i, T0) for i in range(1, 261)])
    pages = list(iter_changed_pages(table.fetch, T0, 50))
    assert ids(pages) == list(range(1, 261))
    assert all(len(p) <= 50 for p in pages)
    assert table.calls == 6  # 260/50 -> 5 full pages + 1 short


def test_lower_bound_is_inclusive_and_older_rows_are_left_out():
    table = Table([order(1, T0 - timedelta(seconds=1)), order(2, T0), order(3, T0 + timedelta(seconds=1))])
    assert ids(iter_changed_pages(table.fetch, T0, 10)) == [2, 3]
    assert ids(iter_changed_pages(table.fetch, None, 10)) == [1, 2, 3]


def test_order_moved_out_of_the_boundary_second_does_not_hide_its_neighbour():
    # 120 orders share T0. After the first page, order 10 (already yielded) is updated to a later second:
    # a plain offset would now skip order 51. The anchor check notices and rescans the second.
    table = Table([order(i, T0) for i in range(1, 121)])

    def churn(t: Table) -> None:
        if t.calls == 2:
            t.touch(10, T0 + timedelta(seconds=5))

    table.on_call = churn
    seen = ids(iter_changed_pages(table.fetch, T0, 50))
    assert Counter(seen)[10] == 2  # the old and the new version
    assert sorted(set(seen)) == list(range(1, 121))
    assert len(seen) == 121


def test_order_updated_ahead_of_the_pager_is_yielded_once_with_its_new_version():
    table = Table([order(i, T0) for i in range(1, 121)])
    late = T0 + timedelta(seconds=9)

    def churn(t: Table) -> None:
        if t.calls == 2:
            t.touch(100, late)

    table.on_call = churn
    pages = list(iter_changed_pages(table.fetch, T0, 50))
    yielded = [o for p in pages for o in p]
    assert [o.date_upd for o in yielded if o.id == 100] == [late]
    assert sorted(o.id for o in yielded) == list(range(1, 121))


def test_pager_gives_up_rather_than_loop_when_the_second_never_settles():
    table = Table([order(i, T0) for i in range(1, 30)])
    bump = iter(range(1, 1000))

    def churn(t: Table) -> None:
        # Every call moves the smallest order of T0 out of the boundary second.
        first = min((o for o in t.rows.values() if o.date_upd == T0), key=lambda o: o.id, default=None)
        if first is not None:
            t.touch(first.id, T0 + timedelta(seconds=next(bump)))

    table.on_call = churn
    with pytest.raises(QloAppsPagingError):
        list(iter_changed_pages(table.fetch, T0, 5))


def test_full_listing_by_id():
    table = Table([order(i, T0) for i in range(1, 8)])
    calls = []

    def by_offset(offset, count):
        calls.append((offset, count))
        return sorted(table.rows.values(), key=lambda o: o.id)[offset : offset + count]

    assert ids(iter_id_pages(by_offset, 3)) == list(range(1, 8))
    assert calls == [(0, 3), (3, 3), (6, 3)]
