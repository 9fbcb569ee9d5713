"""The front desk of a PMS, for tests: how its staff or another integration change it, not through qlosync.

The shared suites (inbound, outbound, rates and availability, conflicts, crashes) write their PMS data through
:func:`desk_for`, which picks the desk of the adapter the engine was made for (``Settings.pms``). Tests that
use the ``settings`` fixture run once per adapter in ``qlosync.pms.ADAPTERS``, so a new adapter gets the
whole suite by adding its desk to :data:`DESKS`. What a test reads back goes through the port
(``qlosync.pms.open_pms``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

from sqlalchemy import Engine, text

from qlosync.pms import DEFAULT_PMS, PMS_OPTION
from qlosync.pms.port import PmsId


class FrontDesk(Protocol):
    """One hotel of a PMS, worked by hand."""

    hotel_id: PmsId

    def at(self, hotel_id: PmsId) -> FrontDesk:
        """The same PMS, another of its hotels."""

    def add_hotel(self, name: str) -> PmsId: ...

    def room_type(self, code: str, name: str, *, max_adults: int = 2, max_children: int = 0) -> PmsId: ...

    def room(self, room_type_id: PmsId, number: str) -> PmsId: ...

    def reservation(self, *, room_type_id: PmsId, checkin: date, checkout: date, first: str = "Walk",
                    last: str = "In", email: str | None = "walk.in@example.com", phone: str | None = "+1 555 0100",
                    adults: int = 2, status: str = "confirmed", price: str = "0",
                    room_id: PmsId | None = None) -> PmsId:
        """A reservation with one line; the rest as the PMS defaults it."""

    def set_status(self, reservation_id: PmsId, status: str) -> None: ...

    def move(self, reservation_id: PmsId, checkin: date, checkout: date) -> None:
        """New dates for every line of the reservation."""

    def delete(self, reservation_id: PmsId) -> None: ...

    def set_rate(self, room_type_id: PmsId, night: date, price: str) -> None:
        """The price of one night (an upsert)."""

    def set_rates(self, room_type_id: PmsId, prices: Mapping[date, str]) -> None:
        """The prices of several nights in one transaction (one change for the relay to coalesce)."""

    def close_night(self, room_type_id: PmsId, night: date) -> None: ...

    def close_nights(self, room_type_id: PmsId, nights: Sequence[date]) -> None:
        """Several closed nights in one transaction."""

    def open_night(self, room_type_id: PmsId, night: date) -> None: ...

    def room_out_of_order(self, room_id: PmsId, date_from: date, date_to: date) -> None: ...

    # inbound suites
    def guest(self, first: str, last: str, email: str | None = None, phone: str | None = None) -> PmsId:
        """A guest typed in by hand: only what a PMS knows of a guest, none of qlosync's keys."""

    def delete_hotel(self, hotel_id: PmsId) -> None:
        """Drop a hotel (one that holds nothing) from the PMS."""

    def guest_count(self) -> int:
        """Guests in the whole PMS, every hotel (a duplicate made anywhere counts)."""

    def reservation_count(self) -> int:
        """Reservations in the whole PMS, every hotel."""

    def write_fingerprint(self) -> dict[str, object]:
        """Something of every table a sync writes (guests, reservations, their lines) that any committed
        insert, update or delete changes: equal before and after means the PMS was not written."""

    def unsent_change(self, age_s: float) -> None:
        """One captured change (of a reservation) that no relay sent yet, captured *age_s* seconds ago."""

    def age_unsent_changes(self, age_s: float) -> None:
        """Every unsent captured change now looks captured *age_s* seconds ago."""


class BuiltinDesk:
    """The built-in PMS worked by plain SQL on search_path public, as a host PMS's own code would."""

    def __init__(self, engine: Engine, hotel_id: PmsId = "1") -> None:
        self.engine = engine
        self.hotel_id = hotel_id

    def _one(self, sql: str, **params: object) -> PmsId:
        with self.engine.begin() as c:
            return str(c.execute(text(sql), params).scalar_one())

    def _run(self, sql: str, **params: object) -> None:
        with self.engine.begin() as c:
            c.execute(text(sql), params)

    def at(self, hotel_id: PmsId) -> BuiltinDesk:
        return BuiltinDesk(self.engine, hotel_id)

    def add_hotel(self, name: str) -> PmsId:
        return self._one("INSERT INTO pms_hotels (name) VALUES (:n) RETURNING id", n=name)

    def room_type(self, code: str, name: str, *, max_adults: int = 2, max_children: int = 0) -> PmsId:
        return self._one("INSERT INTO pms_room_types (hotel_id, code, name, max_adults, max_children) "
                         "VALUES (:h, :c, :n, :a, :k) RETURNING id", h=int(self.hotel_id), c=code, n=name,
                         a=max_adults, k=max_children)

    def room(self, room_type_id: PmsId, number: str) -> PmsId:
        return self._one("INSERT INTO pms_rooms (hotel_id, room_type_id, number) VALUES (:h, :t, :n) RETURNING id",
                         h=int(self.hotel_id), t=int(room_type_id), n=number)

    def reservation(self, *, room_type_id: PmsId, checkin: date, checkout: date, first: str = "Walk",
                    last: str = "In", email: str | None = "walk.in@example.com", phone: str | None = "+1 555 0100",
                    adults: int = 2, status: str = "confirmed", price: str = "0",
                    room_id: PmsId | None = None) -> PmsId:
        with self.engine.begin() as c:
            guest = c.execute(text("INSERT INTO pms_guests (hotel_id, first_name, last_name, email, phone) "
                                   "VALUES (:h, :f, :l, :e, :p) RETURNING id"),
                              {"h": int(self.hotel_id), "f": first, "l": last, "e": email, "p": phone}).scalar_one()
            reservation = c.execute(text("INSERT INTO pms_reservations (hotel_id, guest_id, status, source) "
                                         "VALUES (:h, :g, :s, 'Front desk') RETURNING id"),
                                    {"h": int(self.hotel_id), "g": guest, "s": status}).scalar_one()
            c.execute(text("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, room_id, checkin, "
                           "checkout, adults, price_without_tax) VALUES (:r, :t, :room, :i, :o, :a, :p)"),
                      {"r": reservation, "t": int(room_type_id), "room": None if room_id is None else int(room_id),
                       "i": checkin, "o": checkout, "a": adults, "p": price})
        return str(reservation)

    def set_status(self, reservation_id: PmsId, status: str) -> None:
        self._run("UPDATE pms_reservations SET status = :s WHERE id = :r", s=status, r=int(reservation_id))

    def move(self, reservation_id: PmsId, checkin: date, checkout: date) -> None:
        self._run("UPDATE pms_reservation_lines SET checkin = :i, checkout = :o WHERE reservation_id = :r",
                  i=checkin, o=checkout, r=int(reservation_id))

    def delete(self, reservation_id: PmsId) -> None:
        self._run("DELETE FROM pms_reservations WHERE id = :r", r=int(reservation_id))

    def set_rate(self, room_type_id: PmsId, night: date, price: str) -> None:
        self._run("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, :n, :p) "
                  "ON CONFLICT (room_type_id, night) DO UPDATE SET price = excluded.price",
                  t=int(room_type_id), n=night, p=price)

    def set_rates(self, room_type_id: PmsId, prices: Mapping[date, str]) -> None:
        with self.engine.begin() as c:
            for night, price in prices.items():
                c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, :n, :p) "
                               "ON CONFLICT (room_type_id, night) DO UPDATE SET price = excluded.price"),
                          {"t": int(room_type_id), "n": night, "p": price})

    def close_nights(self, room_type_id: PmsId, nights: Sequence[date]) -> None:
        with self.engine.begin() as c:
            for night in nights:
                c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) VALUES (:t, :n)"),
                          {"t": int(room_type_id), "n": night})

    def close_night(self, room_type_id: PmsId, night: date) -> None:
        self._run("INSERT INTO pms_closed_nights (room_type_id, night) VALUES (:t, :n)", t=int(room_type_id), n=night)

    def open_night(self, room_type_id: PmsId, night: date) -> None:
        self._run("DELETE FROM pms_closed_nights WHERE room_type_id = :t AND night = :n", t=int(room_type_id), n=night)

    def room_out_of_order(self, room_id: PmsId, date_from: date, date_to: date) -> None:
        self._run("INSERT INTO pms_room_outages (room_id, date_from, date_to) VALUES (:r, :f, :t)",
                  r=int(room_id), f=date_from, t=date_to)

    # inbound suites
    #: The tables a sync writes: count(*) plus the newest xmin of each changes on any insert, update or delete.
    WRITE_TABLES = ("pms_guests", "pms_reservations", "pms_reservation_lines")

    def guest(self, first: str, last: str, email: str | None = None, phone: str | None = None) -> PmsId:
        return self._one("INSERT INTO pms_guests (hotel_id, first_name, last_name, email, phone) "
                         "VALUES (:h, :f, :l, :e, :p) RETURNING id", h=int(self.hotel_id), f=first, l=last,
                         e=email, p=phone)

    def delete_hotel(self, hotel_id: PmsId) -> None:
        self._run("DELETE FROM pms_hotels WHERE id = :h", h=int(hotel_id))

    def guest_count(self) -> int:
        return int(self._one("SELECT count(*) FROM pms_guests"))

    def reservation_count(self) -> int:
        return int(self._one("SELECT count(*) FROM pms_reservations"))

    def write_fingerprint(self) -> dict[str, object]:
        with self.engine.connect() as c:
            return {table: tuple(c.execute(text(
                f"SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM {table}")).one())
                for table in self.WRITE_TABLES}

    def unsent_change(self, age_s: float) -> None:
        # What the capture triggers write for a reservation; aggregate_id need not name a live one.
        self._run("INSERT INTO pms_outbox (aggregate, aggregate_id, operation, created_at) "
                  "VALUES ('reservation', 1, 'create', now() - make_interval(secs => :s))", s=age_s)

    def age_unsent_changes(self, age_s: float) -> None:
        self._run("UPDATE pms_outbox SET created_at = now() - make_interval(secs => :s) WHERE published_at IS NULL",
                  s=age_s)


#: The front desk of each adapter in qlosync.pms.ADAPTERS (tests/unit/test_pms_desks.py keeps them in step).
DESKS: dict[str, type[BuiltinDesk]] = {"builtin": BuiltinDesk}


def desk_for(engine: Engine, hotel_id: PmsId | None = None) -> FrontDesk:
    """The front desk of the PMS *engine* was made for (its first hotel unless *hotel_id* names another)."""
    kind = engine.get_execution_options().get(PMS_OPTION) or DEFAULT_PMS
    desk = DESKS[kind](engine)
    return desk.at(hotel_id) if hotel_id is not None else desk
