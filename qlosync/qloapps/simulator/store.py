"""In-memory QloApps state: tables, id counters, room occupancy index, clock and lock."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

from .clock import Clock
from .seed import PER_NIGHT_AUTO_SERVICES, generate, initial_tables


class Store:
    """All simulated QloApps data; every mutation runs under one re-entrant lock."""

    def __init__(self, seed_demo: bool = True, base_url: str = "http://127.0.0.1") -> None:
        from .bookings import BookingEngine  # local import: bookings needs Store

        self.lock = threading.RLock()
        self.clock = Clock()
        self.base_url = base_url
        self.tables: dict[str, dict[int, dict[str, Any]]] = initial_tables(seed_demo)
        self._next: dict[str, int] = {name: max(rows, default=0) + 1 for name, rows in self.tables.items()}
        # room id -> {day ordinal: number of active lines}; kept in step with room_bookings
        self.occupancy: dict[int, dict[int, int]] = {}
        # (id_room_type, id_service) -> price override (destructive room type PUT sets 0)
        self.service_prices: dict[tuple[int, int], float] = {}
        self.bookings = BookingEngine(self)

    # ---------------------------------------------------------------- tables
    def table(self, name: str) -> dict[int, dict[str, Any]]:
        """Rows of a table keyed by id (created empty on first use)."""
        if name not in self.tables:
            self.tables[name] = {}
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
