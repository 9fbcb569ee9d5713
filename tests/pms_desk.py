"""The front desk of a PMS, for tests: how its staff or another integration change it, not through qlosync.

The shared suites (inbound, outbound, rates and availability, conflicts, crashes) write their PMS data through
:func:`desk_for`, which picks the desk of the adapter the engine was made for (``Settings.pms``). Tests that
use the ``settings`` fixture run once per adapter in ``qlosync.pms.ADAPTERS``, so a new adapter gets the
whole suite by adding its desk to :data:`DESKS`. What a test reads back goes through the port
(``qlosync.pms.open_pms``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeAlias

from sqlalchemy import Engine, text

from qlosync.pms import DEFAULT_PMS, PMS_OPTION, imported
from qlosync.pms.port import PmsId


class DeskCannot(Exception):
    """The PMS has no way to do what the test asks of its desk (a rate per night, a closed night...): the
    test is reported as skipped with the reason (tests/conftest.py), never as a failure."""

    def __init__(self, pms: str, reason: str) -> None:
        super().__init__(f"the {pms} PMS cannot: {reason}")
        self.pms, self.reason = pms, reason


@dataclass(frozen=True)
class Booking:
    """One reservation of a batch: a new guest, one line."""

    room_type_id: PmsId
    checkin: date
    checkout: date
    first: str
    last: str
    email: str | None
    phone: str | None = "+1 555 0100"
    adults: int = 2


#: One booked room of a booking, as the booking comparisons see it (tests/integration/sync_helpers.py): (QloApps
#: room type, from, to, room number, adults, children, price without tax, tax).
BookedLine: TypeAlias = tuple[int, date, date, "str | None", int, int, Decimal, Decimal]


class FrontDesk(Protocol):
    """One hotel of a PMS, worked by hand."""

    hotel_id: PmsId
    #: True: ``delete`` keeps the reservation (soft-deleted), and the port reads it as cancelled; False: the
    #: row is gone, and only the captured change's mapping ids are left to cancel the QloApps booking with.
    soft_delete: bool
    #: True: ``room_out_of_order`` takes the room off for those nights only; False: for every night, until the
    #: room is back (a room status, as the hotelmanangement PMS keeps it).
    dated_outages: bool

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

    # outbound suites: what staff change on a reservation after making it
    def guest_reservation(self, guest_id: PmsId, *, room_type_id: PmsId, checkin: date, checkout: date,
                          adults: int = 2) -> PmsId:
        """Another reservation (one line) for a guest the PMS has already."""

    def update_guest(self, reservation_id: PmsId, **fields: str | None) -> None:
        """New details (first_name, last_name, email, phone) for the reservation's guest."""

    def update_every_guest(self, **fields: str | None) -> None:
        """The same details for every guest of the hotel (a clumsy bulk edit)."""

    def update_lines(self, reservation_id: PmsId, *, room_type_id: PmsId | None = None,
                     room_id: PmsId | None = None, checkin: date | None = None, checkout: date | None = None,
                     adults: int | None = None) -> None:
        """The given fields on every line of the reservation; None leaves a field as it is."""

    def shift_lines(self, reservation_id: PmsId | None, *, checkin_days: int = 0, checkout_days: int = 0) -> None:
        """Every line's dates moved by so many days (every reservation of the hotel when None)."""

    def add_line(self, reservation_id: PmsId, *, room_type_id: PmsId, checkin: date, checkout: date,
                 adults: int = 2) -> PmsId: ...

    def remove_lines(self, reservation_id: PmsId, room_type_id: PmsId) -> None:
        """The reservation's lines of one room type."""

    def touch(self, reservation_id: PmsId) -> None:
        """Rewrite the reservation and its lines with their own values (a write that changes nothing)."""

    def set_source(self, reservation_ids: list[PmsId], source: str) -> None: ...

    def batch(self, bookings: Sequence[Booking]) -> list[PmsId]:
        """Several reservations committed at once (one transaction: they reach change capture together)."""

    def remove_rates(self, price: str) -> None:
        """Every night of the hotel priced at *price* loses its rate."""

    def raise_rates(self, amount: str) -> None:
        """Every rate of the hotel up by *amount*."""

    def touch_ari(self, room_type_id: PmsId) -> None:
        """Rewrite the room type's rates and closed nights with their own values (nothing changes)."""

    def reopen_every_night(self) -> None: ...

    def rooms_out_of_order_of_type(self, room_type_id: PmsId, count: int, date_from: date, date_to: date) -> None:
        """*count* rooms of the room type out of order (the first ones by id)."""

    def reservation_ids(self) -> set[PmsId]:
        """Every reservation of the PMS, as the staff's list shows them (any hotel)."""

    def kept_lines(self, lines: Sequence[BookedLine]) -> list[BookedLine]:
        """What the PMS keeps of a booking's rooms written in this order, as a read through the port gives
        them back (a PMS that stores each room as a line: all of it)."""


    # fault injection (tests/faults): not the staff's, but the PMS's own machinery held up
    def marking_published_waits_on(self, advisory_lock: int) -> AbstractContextManager[None]:
        """While inside: marking a captured change published waits for the PostgreSQL advisory lock."""


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

    soft_delete = False
    dated_outages = True

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

    # outbound suites
    def guest_reservation(self, guest_id: PmsId, *, room_type_id: PmsId, checkin: date, checkout: date,
                          adults: int = 2) -> PmsId:
        with self.engine.begin() as c:
            reservation = c.execute(text("INSERT INTO pms_reservations (hotel_id, guest_id, status, source) "
                                         "VALUES (:h, :g, 'confirmed', 'Front desk') RETURNING id"),
                                    {"h": int(self.hotel_id), "g": int(guest_id)}).scalar_one()
            c.execute(text("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout, adults) "
                           "VALUES (:r, :t, :i, :o, :a)"),
                      {"r": reservation, "t": int(room_type_id), "i": checkin, "o": checkout, "a": adults})
        return str(reservation)

    def update_guest(self, reservation_id: PmsId, **fields: str | None) -> None:
        self._run(f"UPDATE pms_guests SET {_assignments(fields, GUEST_FIELDS)} "
                  "WHERE id = (SELECT guest_id FROM pms_reservations WHERE id = :r)", r=int(reservation_id), **fields)

    def update_every_guest(self, **fields: str | None) -> None:
        self._run(f"UPDATE pms_guests SET {_assignments(fields, GUEST_FIELDS)} WHERE hotel_id = :h",
                  h=int(self.hotel_id), **fields)

    def update_lines(self, reservation_id: PmsId, *, room_type_id: PmsId | None = None,
                     room_id: PmsId | None = None, checkin: date | None = None, checkout: date | None = None,
                     adults: int | None = None) -> None:
        given: dict[str, object] = {
            "room_type_id": None if room_type_id is None else int(room_type_id),
            "room_id": None if room_id is None else int(room_id),
            "checkin": checkin, "checkout": checkout, "adults": adults}
        fields = {name: value for name, value in given.items() if value is not None}
        self._run(f"UPDATE pms_reservation_lines SET {_assignments(fields, LINE_FIELDS)} WHERE reservation_id = :r",
                  r=int(reservation_id), **fields)

    def shift_lines(self, reservation_id: PmsId | None, *, checkin_days: int = 0, checkout_days: int = 0) -> None:
        which = ("reservation_id = :r" if reservation_id is not None else
                 "reservation_id IN (SELECT id FROM pms_reservations WHERE hotel_id = :h)")
        self._run(f"UPDATE pms_reservation_lines SET checkin = checkin + :i, checkout = checkout + :o WHERE {which}",
                  i=checkin_days, o=checkout_days, h=int(self.hotel_id),
                  r=None if reservation_id is None else int(reservation_id))

    def add_line(self, reservation_id: PmsId, *, room_type_id: PmsId, checkin: date, checkout: date,
                 adults: int = 2) -> PmsId:
        return self._one("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout, adults) "
                         "VALUES (:r, :t, :i, :o, :a) RETURNING id", r=int(reservation_id), t=int(room_type_id),
                         i=checkin, o=checkout, a=adults)

    def remove_lines(self, reservation_id: PmsId, room_type_id: PmsId) -> None:
        self._run("DELETE FROM pms_reservation_lines WHERE reservation_id = :r AND room_type_id = :t",
                  r=int(reservation_id), t=int(room_type_id))

    def touch(self, reservation_id: PmsId) -> None:
        with self.engine.begin() as c:
            c.execute(text("UPDATE pms_reservations SET status = status WHERE id = :r"), {"r": int(reservation_id)})
            c.execute(text("UPDATE pms_reservation_lines SET adults = adults WHERE reservation_id = :r"),
                      {"r": int(reservation_id)})

    def set_source(self, reservation_ids: list[PmsId], source: str) -> None:
        self._run("UPDATE pms_reservations SET source = :s WHERE id = ANY(:ids)", s=source,
                  ids=[int(r) for r in reservation_ids])

    def batch(self, bookings: Sequence[Booking]) -> list[PmsId]:
        ids = []
        with self.engine.begin() as c:
            for b in bookings:
                guest = c.execute(text("INSERT INTO pms_guests (hotel_id, first_name, last_name, email, phone) "
                                       "VALUES (:h, :f, :l, :e, :p) RETURNING id"),
                                  {"h": int(self.hotel_id), "f": b.first, "l": b.last, "e": b.email,
                                   "p": b.phone}).scalar_one()
                reservation = c.execute(text("INSERT INTO pms_reservations (hotel_id, guest_id, status, source) "
                                             "VALUES (:h, :g, 'confirmed', 'Front desk') RETURNING id"),
                                        {"h": int(self.hotel_id), "g": guest}).scalar_one()
                c.execute(text("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout, "
                               "adults) VALUES (:r, :t, :i, :o, :a)"),
                          {"r": reservation, "t": int(b.room_type_id), "i": b.checkin, "o": b.checkout, "a": b.adults})
                ids.append(str(reservation))
        return ids

    def remove_rates(self, price: str) -> None:
        self._run("DELETE FROM pms_room_type_rates WHERE price = :p AND room_type_id IN "
                  "(SELECT id FROM pms_room_types WHERE hotel_id = :h)", p=price, h=int(self.hotel_id))

    def raise_rates(self, amount: str) -> None:
        self._run("UPDATE pms_room_type_rates SET price = price + :a WHERE room_type_id IN "
                  "(SELECT id FROM pms_room_types WHERE hotel_id = :h)", a=amount, h=int(self.hotel_id))

    def touch_ari(self, room_type_id: PmsId) -> None:
        with self.engine.begin() as c:
            c.execute(text("UPDATE pms_room_type_rates SET price = price WHERE room_type_id = :t"),
                      {"t": int(room_type_id)})
            c.execute(text("UPDATE pms_closed_nights SET reason = reason WHERE room_type_id = :t"),
                      {"t": int(room_type_id)})

    def reopen_every_night(self) -> None:
        self._run("DELETE FROM pms_closed_nights WHERE room_type_id IN "
                  "(SELECT id FROM pms_room_types WHERE hotel_id = :h)", h=int(self.hotel_id))

    def rooms_out_of_order_of_type(self, room_type_id: PmsId, count: int, date_from: date, date_to: date) -> None:
        self._run("INSERT INTO pms_room_outages (room_id, date_from, date_to) "
                  "SELECT id, :f, :t FROM pms_rooms WHERE room_type_id = :rt ORDER BY id LIMIT :n",
                  f=date_from, t=date_to, rt=int(room_type_id), n=count)

    def reservation_ids(self) -> set[PmsId]:
        with self.engine.connect() as c:
            return set(c.scalars(text("SELECT id::text FROM pms_reservations")))

    def kept_lines(self, lines: Sequence[BookedLine]) -> list[BookedLine]:
        return list(lines)  # a line per room, each with its own room, occupancy and price

    @contextmanager
    def marking_published_waits_on(self, advisory_lock: int) -> Iterator[None]:
        # A test trigger on the outbox: the relay's "mark sent" update waits on the lock (shared: all of them).
        self._run("CREATE FUNCTION test_hold_mark_sent() RETURNS trigger LANGUAGE plpgsql AS "
                  f"$$ BEGIN PERFORM pg_advisory_xact_lock_shared({int(advisory_lock)}); RETURN NEW; END $$")
        self._run("CREATE TRIGGER test_hold_mark_sent BEFORE UPDATE ON pms_outbox FOR EACH ROW "
                  "WHEN (NEW.published_at IS NOT NULL) EXECUTE FUNCTION test_hold_mark_sent()")
        try:
            yield
        finally:
            self._run("DROP TRIGGER test_hold_mark_sent ON pms_outbox")
            self._run("DROP FUNCTION test_hold_mark_sent()")


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


GUEST_FIELDS = frozenset({"first_name", "last_name", "email", "phone"})
LINE_FIELDS = frozenset({"room_type_id", "room_id", "checkin", "checkout", "adults"})


def _assignments(fields: Mapping[str, object], allowed: frozenset[str]) -> str:
    """``a = :a, b = :b`` for the given column names (checked, as they go into the SQL text)."""
    unknown = set(fields) - allowed
    if unknown or not fields:
        raise ValueError(f"cannot set {sorted(unknown) or 'nothing'} (only {sorted(allowed)})")
    return ", ".join(f"{name} = :{name}" for name in fields)



#: The front desk of each adapter in qlosync.pms.ADAPTERS, "module:class" as ADAPTERS names adapters (imported
#: when first used: tests/hms/desk.py imports this module). tests/unit/test_pms_desks.py keeps them in step.
DESKS: dict[str, str] = {"builtin": "tests.pms_desk:BuiltinDesk", "hotelmanangement": "tests.hms.desk:HmsDesk"}


def desk_for(engine: Engine, hotel_id: PmsId | None = None) -> FrontDesk:
    """The front desk of the PMS *engine* was made for (its first hotel unless *hotel_id* names another)."""
    kind = engine.get_execution_options().get(PMS_OPTION) or DEFAULT_PMS
    desk: FrontDesk = imported(DESKS[kind])(engine)
    return desk.at(hotel_id) if hotel_id is not None else desk
