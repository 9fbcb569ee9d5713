"""In-memory QloApps state: tables, id counters, room occupancy index, clock and lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from .clock import Clock
from .seed import PER_NIGHT_AUTO_SERVICES, generate, initial_tables

Row = dict[str, Any]
_UNSET: Any = object()

# Fields a value index may be kept on (equality filters that sync sends over whole tables): no code changes
# them in place after a row is inserted (a generic PUT may, and drops the table's indexes with touch()).
INDEXED_FIELDS: dict[str, frozenset[str]] = {
    "room_bookings": frozenset({"id_order"}),
    "orders": frozenset({"id_customer"}),
}


class Table(dict[int, Row]):
    """Rows keyed by id, plus what listings keep of them between writes: the rows in id order and value
    indexes of the fields in INDEXED_FIELDS.

    Every change of the key set (or a row replaced) bumps ``version`` and drops what was kept; a change of a
    field inside a row does not, so indexes are kept only for fields nothing changes in place (a generic PUT
    calls touch()). Rows in id order hold the row objects themselves: their fields are always live.
    """

    __slots__ = ("name", "version", "_cache")

    def __init__(self, name: str, rows: Mapping[int, Row] | Iterable[tuple[int, Row]] = ()) -> None:
        super().__init__(rows)
        self.name = name
        self.version = 0
        self._cache: dict[Any, Any] = {}

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle: the rows, nothing kept
        return (Table, (self.name, dict(self)))

    def touch(self) -> None:
        """Forget what was kept (the key set or an indexed field changed)."""
        self.version += 1
        if self._cache:
            self._cache = {}

    def __setitem__(self, key: int, value: Row) -> None:
        super().__setitem__(key, value)
        self.touch()

    def __delitem__(self, key: int) -> None:
        super().__delitem__(key)
        self.touch()

    def pop(self, key: int, default: Any = _UNSET) -> Any:
        self.touch()
        return super().pop(key) if default is _UNSET else super().pop(key, default)

    def popitem(self) -> tuple[int, Row]:
        self.touch()
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self.touch()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.touch()

    def setdefault(self, key: int, default: Any = None) -> Any:
        self.touch()
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> Table:  # type: ignore[override,misc]
        super().update(other)
        self.touch()
        return self

    def _kept(self, key: Any, build: Callable[[], Any]) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build()
            return value

    def ids_in_order(self) -> list[int]:
        """Every id, ascending."""
        result: list[int] = self._kept("ids", lambda: sorted(self))
        return result

    def rows_in_order(self) -> list[Row]:
        """Every row, by id (the list is shared: do not change it)."""
        result: list[Row] = self._kept("rows", lambda: [self[rid] for rid in self.ids_in_order()])
        return result

    def ids_are_keys(self) -> bool:
        """Every row's "id" is an int equal to its key (rows are listed by id, and "id" filters are key
        look-ups). Stored rows keep this (insert sets it, nothing changes "id" in place); checked once per
        version all the same."""
        result: bool = self._kept("ids_are_keys", lambda: all(
            type(row.get("id")) is int and row["id"] == rid for rid, row in self.items()))
        return result

    def value_index(self, field: str, key_of: Callable[[Any], Any]) -> dict[Any, list[int]] | None:
        """{key_of(row[field]): ascending ids} for a field of INDEXED_FIELDS, else None."""
        if field not in INDEXED_FIELDS.get(self.name, ()):
            return None

        def build() -> dict[Any, list[int]]:
            index: dict[Any, list[int]] = {}
            for rid in self.ids_in_order():
                index.setdefault(key_of(self[rid].get(field)), []).append(rid)
            return index

        result: dict[Any, list[int]] = self._kept(("index", field), build)
        return result


class Store:
    """All simulated QloApps data; every mutation runs under one re-entrant lock."""

    def __init__(self, seed_demo: bool = True, base_url: str = "http://127.0.0.1") -> None:
        from .bookings import BookingEngine  # local import: bookings needs Store

        self.lock = threading.RLock()
        self.clock = Clock()
        self.base_url = base_url
        self.tables: dict[str, Table] = {name: Table(name, rows)
                                         for name, rows in initial_tables(seed_demo).items()}
        self._next: dict[str, int] = {name: max(rows, default=0) + 1 for name, rows in self.tables.items()}
        # room id -> {day ordinal: number of active lines}; kept in step with room_bookings
        self.occupancy: dict[int, dict[int, int]] = {}
        # (id_room_type, id_service) -> price override (destructive room type PUT sets 0)
        self.service_prices: dict[tuple[int, int], float] = {}
        self.bookings = BookingEngine(self)

    # ---------------------------------------------------------------- tables
    def table(self, name: str) -> Table:
        """Rows of a table keyed by id (created empty on first use)."""
        if name not in self.tables:
            self.tables[name] = Table(name)
            self._next.setdefault(name, 1)
        return self.tables[name]

    def new_id(self, name: str) -> int:
        """Next auto-increment id of a table (ids are never reused, like MySQL)."""
        with self.lock:
            self.table(name)
            value = self._next.get(name, 1)
            self._next[name] = value + 1
            return value

    def insert(self, name: str, record: dict[str, Any]) -> int:
        """Add a row with a fresh id placed first; returns the id."""
        with self.lock:
            rid = self.new_id(name)
            row = {"id": rid, **record}
            row["id"] = rid
            self.table(name)[rid] = row
            return rid

    # ---------------------------------------------------------------- catalog helpers
    def room_type_ids(self) -> list[int]:
        """Ids of the bookable room types."""
        return sorted(self.table("room_types"))

    def rooms_of_type(self, id_room_type: int) -> list[dict[str, Any]]:
        """Physical rooms of a room type, by id."""
        return [r for _, r in sorted(self.table("hotel_rooms").items()) if r["id_product"] == id_room_type]

    def hotel_room_type(self, id_room_type: int) -> dict[str, Any] | None:
        """The hotel_room_types row (occupancy limits) of a room type."""
        for row in self.table("hotel_room_types").values():
            if row["id_product"] == id_room_type:
                return row
        return None

    def auto_service_price_per_night(self, id_room_type: int) -> float:
        """Auto-added per-night service products included in ARI/qlo rates (+250 on the demo data)."""
        total = 0.0
        services = self.table("services")
        for sid in PER_NIGHT_AUTO_SERVICES:
            if sid not in services:
                continue
            total += self.service_prices.get((id_room_type, sid), float(services[sid]["price"]))
        return total

    # ---------------------------------------------------------------- occupancy index
    @staticmethod
    def nights(date_from: str, date_to: str) -> range:
        """Day ordinals of the nights between two "YYYY-MM-DD[ ...]" dates."""
        start = date.fromisoformat(date_from[:10]).toordinal()
        end = date.fromisoformat(date_to[:10]).toordinal()
        return range(start, end)

    def occupy(self, id_room: int, date_from: str, date_to: str, delta: int) -> None:
        """Add (+1) or remove (-1) a line's nights from the occupancy index."""
        days = self.occupancy.setdefault(id_room, {})
        for day in self.nights(date_from, date_to):
            left = days.get(day, 0) + delta
            if left > 0:
                days[day] = left
            else:
                days.pop(day, None)

    def room_free(self, id_room: int, date_from: str, date_to: str) -> bool:
        """True when no active line holds the room on any of the nights."""
        days = self.occupancy.get(id_room, {})
        return not any(day in days for day in self.nights(date_from, date_to))

    def booked_days(self, id_room: int, date_from: str, date_to: str) -> int:
        """How many of the nights are taken."""
        days = self.occupancy.get(id_room, {})
        return sum(1 for day in self.nights(date_from, date_to) if day in days)

    # ---------------------------------------------------------------- behind-qlosync's-back API
    def create_booking(self, inner: dict[str, Any]) -> int:
        """Create a booking exactly like POST /api/bookings (inner = the "booking" object)."""
        return self.bookings.create(inner)

    def update_booking(self, inner: dict[str, Any]) -> int:
        """Update a booking exactly like PUT /api/bookings (id taken from the body)."""
        return self.bookings.update(inner)

    def cancel_booking(self, order_id: int) -> None:
        """Cancel like PUT booking_status=3: state 4, lines cancelled+refunded, line date_upd untouched."""
        self.bookings.set_state(order_id, 4)

    def refund_booking(self, order_id: int) -> None:
        """Refund like PUT booking_status=4: state 5."""
        self.bookings.set_state(order_id, 5)

    def rename_customer(self, id_customer: int, firstname: str, lastname: str) -> None:
        """Rename a customer; old bookings show the new name (B9)."""
        with self.lock:
            cust = self.table("customers")[id_customer]
            cust["firstname"], cust["lastname"] = firstname, lastname
            cust["date_upd"] = self.clock.now_str()

    def generate_bookings(self, n: int, seed: int = 0) -> list[int]:
        """Create n realistic bookings (overbooking allowed); returns their order ids."""
        with self.lock:
            return generate(self, n, seed)

    def shift_days(self, day: str, days: int) -> str:
        """Date arithmetic helper ("YYYY-MM-DD" +/- days)."""
        return (date.fromisoformat(day[:10]) + timedelta(days=days)).isoformat()
