"""The front desk of the Hotel Management System (hotelmanangement), for the shared suites (tests/pms_desk.py).

Plain SQL on that PMS's tables in ``public``, written the way its REST API writes them (read off its services:
``backend/src/services/{reservations,guests,room_types,rooms,hotels}``): uuid ids as text, ``hotel_id`` on
every row, a reservation and its 'Primary' ``reservation_guests`` row in one transaction, ``total_amount =
price_per_night x nights x units``, source 'Direct', ``updated_at`` set by every update, a room type made with
its ``qty`` rooms, soft deletes. What that PMS has no way to hold (a rate per night, closed nights, a
reservation with several room types or stays) raises :class:`~tests.pms_desk.DeskCannot`, which the test
run reports as a skip with the reason (tests/conftest.py).

The desk's ids are the port's: a reservation id names a *group* of that PMS's reservations (qlosync's
``hms_reservation_groups``; a reservation without a row there is a group of its own), so that a test can
work on a reservation a pull wrote as on one made here. Changes act on the group's live members.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

from tests.pms_desk import BookedLine, Booking, DeskCannot
from qlosync.pms.port import PmsId

PMS = "hotelmanangement"
DEFAULT_HOTEL = "00000000-0000-0000-0000-000000000000"  # the hotel that PMS's migrations create
#: The nightly price of a room type the desk makes (that PMS's API refuses a room type without one).
ROOM_TYPE_PRICE = "100.00"

#: The desk's statuses (the built-in PMS's, QloApps' words) as that PMS holds them; its own pass as they are.
STATUSES = {"confirmed": "Confirmed", "pending": "Confirmed", "partially_paid": "Confirmed",
            "payment_error": "Confirmed", "cancelled": "Cancelled", "refunded": "Cancelled",
            "checked_in": "Checked-in", "checked_out": "Checked-out"}
PMS_STATUSES = ("Confirmed", "Checked-in", "Checked-out", "Cancelled")
#: reservations.source allows only these (a CHECK); any other source a test names lands as 'Other'.
SOURCES = ("Direct", "Beds24", "Booking.com", "Expedia", "QloApps", "Other")

#: The PMS reservations a port reservation id covers: its group's members, live ones only (FOR UPDATE-free:
#: a desk write is one statement per table, as the PMS's own handlers do).
MEMBERS = ("SELECT r.id FROM public.reservations r "
           "LEFT JOIN hms_reservation_groups g ON g.reservation_id = r.id::text "
           "WHERE coalesce(g.group_id, r.id::text) = :r AND r.deleted_at IS NULL")


def pms_status(status: str) -> str:
    if status in PMS_STATUSES:
        return status
    try:
        return STATUSES[status]
    except KeyError:
        raise ValueError(f"no hotelmanangement status for {status!r} (known: {sorted(STATUSES)})") from None


NAME_LENGTH = 255  # guests.name is varchar(255)


def guest_name(first: str, last: str) -> str:
    """The one ``name`` column: "first last", stripped, single spaces (what the adapter writes too)."""
    name = " ".join(f"{first} {last}".split())
    if len(name) > NAME_LENGTH:
        raise DeskCannot(PMS, f"a guest name of {len(name)} characters (its one name field holds {NAME_LENGTH})")
    return name


def split_name(name: str) -> tuple[str, str]:
    """First word, the rest: how the adapter reads a name back."""
    first, _, rest = name.strip().partition(" ")
    return first, rest.strip()


def slug(name: str) -> str:
    """How that PMS numbers the rooms it makes for a room type: ``{slug}-{k}``."""
    return re.sub(r"^-+|-+$", "", re.sub(r"[^a-z0-9]+", "-", name.lower().strip()))


def legacy_room_type(code: str) -> str:
    # rooms.type is a legacy NOT NULL column; the PMS derives it from the room type's kind.
    kind = code.lower()
    return "Single" if kind == "single" else "Suite" if kind == "suite" else "Double"


def _shares(total: int, parts: int) -> list[int]:
    share, rest = divmod(total, parts)
    return [share + (1 if k < rest else 0) for k in range(parts)]


def _cent_shares(total: Decimal, parts: int) -> list[Decimal]:
    return [Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))
            for cents in _shares(int(total.quantize(Decimal("0.01")).scaleb(2)), parts)]


class HmsDesk:
    """One hotel of the Hotel Management System, worked by plain SQL as its API would write."""

    soft_delete = True  # its API's delete sets deleted_at (and 'Cancelled')
    dated_outages = False  # a room is 'Out of Service' until its status changes back
    #: The PMS's tables a sync writes, and qlosync's record of the groups written with them.
    WRITE_TABLES = ("public.guests", "public.reservations", "public.reservation_guests", "hms_reservation_groups")

    def __init__(self, engine: Engine, hotel_id: PmsId = DEFAULT_HOTEL) -> None:
        self.engine = engine
        self.hotel_id = hotel_id

    def _one(self, sql: str, **params: object) -> PmsId:
        with self.engine.begin() as c:
            return str(c.execute(text(sql), params).scalar_one())

    def _run(self, sql: str, **params: object) -> None:
        with self.engine.begin() as c:
            c.execute(text(sql), params)

    def at(self, hotel_id: PmsId) -> HmsDesk:
        return HmsDesk(self.engine, hotel_id)

    def add_hotel(self, name: str) -> PmsId:
        return self._one("INSERT INTO public.hotels (hotel_name) VALUES (:n) RETURNING id", n=name)

    # -- catalog ---------------------------------------------------------------------------------------------

    def room_type(self, code: str, name: str, *, max_adults: int = 2, max_children: int = 0) -> PmsId:
        # The port's code is the free-text room_type column; the API makes the qty (here 1) rooms at once.
        with self.engine.begin() as c:
            room_type = str(c.execute(text(
                "INSERT INTO public.room_types (hotel_id, name, room_type, qty, price_per_night, max_people, "
                "max_adult, max_children) VALUES (:h, :n, :c, 1, :p, :people, :a, :k) RETURNING id"),
                {"h": self.hotel_id, "n": name, "c": code, "p": ROOM_TYPE_PRICE, "people": max_adults + max_children,
                 "a": max_adults, "k": max_children}).scalar_one())
            number = f"{slug(name)}-1"
            taken = c.execute(text("SELECT 1 FROM public.rooms WHERE hotel_id = :h AND room_number = :n"),
                              {"h": self.hotel_id, "n": number}).first()
            if taken is None:  # the API skips a number the hotel already has
                self._insert_room(c, room_type, number)
        return room_type

    def _insert_room(self, c: Connection, room_type_id: PmsId, number: str) -> PmsId:
        return str(c.execute(text(
            "INSERT INTO public.rooms (hotel_id, room_number, room_type_id, status, type, room_type, "
            "price_per_night, floor) SELECT hotel_id, :n, id, 'Available', :legacy, room_type, price_per_night, 1 "
            "FROM public.room_types WHERE id = :t RETURNING id"),
            {"n": number, "t": room_type_id, "legacy": legacy_room_type(self._code(c, room_type_id))}).scalar_one())

    @staticmethod
    def _code(c: Connection, room_type_id: PmsId) -> str:
        return str(c.execute(text("SELECT room_type FROM public.room_types WHERE id = :t"),
                             {"t": room_type_id}).scalar_one())

    def room(self, room_type_id: PmsId, number: str) -> PmsId:
        """A room numbered *number*: the first one named takes over the room the PMS made with the room type
        (staff renumber it); later ones raise the room type's qty, as its API adds rooms."""
        with self.engine.begin() as c:
            rooms = c.execute(text(
                "SELECT rt.name, r.id, r.room_number FROM public.room_types rt "
                "LEFT JOIN public.rooms r ON r.room_type_id = rt.id WHERE rt.id = :t"), {"t": room_type_id}).all()
            made = [r for r in rooms if r.id is not None]
            if len(made) == 1 and made[0].room_number == f"{slug(made[0].name)}-1":
                c.execute(text("UPDATE public.rooms SET room_number = :n, updated_at = now() WHERE id = :r"),
                          {"n": number, "r": made[0].id})
                return str(made[0].id)
            room = self._insert_room(c, room_type_id, number)
            c.execute(text("UPDATE public.room_types SET qty = least(99, (SELECT count(*) FROM public.rooms "
                           "WHERE room_type_id = :t)), updated_at = now() WHERE id = :t"), {"t": room_type_id})
            return room

    # -- reservations ----------------------------------------------------------------------------------------

    def _guest(self, c: Connection, first: str, last: str, email: str | None, phone: str | None) -> PmsId:
        """The guest a reservation is for. That PMS's API refuses a second live guest of a hotel with the same
        e-mail, so staff pick the one it has; a guest of another name gets a row of its own (the database
        allows it, as an import would write it)."""
        name = guest_name(first, last)
        if email:
            found = c.execute(text(
                "SELECT id FROM public.guests WHERE hotel_id = :h AND email = :e AND name = :n AND deleted_at IS NULL "
                "ORDER BY created_at, id LIMIT 1"), {"h": self.hotel_id, "e": email, "n": name}).scalar()
            if found is not None:
                return str(found)
        return str(c.execute(text(
            "INSERT INTO public.guests (hotel_id, name, email, phone) VALUES (:h, :n, :e, :p) RETURNING id"),
            {"h": self.hotel_id, "n": name, "e": email or None, "p": phone or None}).scalar_one())

    def _insert_reservation(self, c: Connection, guest_id: PmsId, *, room_type_id: PmsId, checkin: date,
                            checkout: date, adults: int, status: str = "Confirmed", price: str = "0",
                            room_id: PmsId | None = None) -> PmsId:
        # The API prices a stay itself (price_per_night x nights x units); a test that names a price gets it.
        total = Decimal(price)
        reservation = str(c.execute(text(
            "INSERT INTO public.reservations (hotel_id, primary_guest_id, room_type_id, units_requested, "
            "reserved_room_id, check_in, check_out, status, total_amount, source, num_adult, num_child) "
            "SELECT :h, :g, rt.id, 1, :room, :i, :o, :s, "
            "       CASE WHEN :total = 0 THEN rt.price_per_night * (:o - :i) ELSE :total END, 'Direct', :a, 0 "
            "FROM public.room_types rt WHERE rt.id = :t RETURNING id"),
            {"h": self.hotel_id, "g": guest_id, "t": room_type_id, "room": room_id, "i": checkin, "o": checkout,
             "s": status, "total": total, "a": adults}).scalar_one())
        c.execute(text("INSERT INTO public.reservation_guests (hotel_id, reservation_id, guest_id, guest_type) "
                       "VALUES (:h, :r, :g, 'Primary')"), {"h": self.hotel_id, "r": reservation, "g": guest_id})
        return reservation

    def reservation(self, *, room_type_id: PmsId, checkin: date, checkout: date, first: str = "Walk",
                    last: str = "In", email: str | None = "walk.in@example.com", phone: str | None = "+1 555 0100",
                    adults: int = 2, status: str = "confirmed", price: str = "0",
                    room_id: PmsId | None = None) -> PmsId:
        with self.engine.begin() as c:
            guest = self._guest(c, first, last, email, phone)
            return self._insert_reservation(c, guest, room_type_id=room_type_id, checkin=checkin, checkout=checkout,
                                            adults=adults, status=pms_status(status), price=price, room_id=room_id)

    def guest_reservation(self, guest_id: PmsId, *, room_type_id: PmsId, checkin: date, checkout: date,
                          adults: int = 2) -> PmsId:
        with self.engine.begin() as c:
            return self._insert_reservation(c, guest_id, room_type_id=room_type_id, checkin=checkin,
                                            checkout=checkout, adults=adults)

    def batch(self, bookings: Sequence[Booking]) -> list[PmsId]:
        with self.engine.begin() as c:
            return [self._insert_reservation(c, self._guest(c, b.first, b.last, b.email, b.phone),
                                             room_type_id=b.room_type_id, checkin=b.checkin, checkout=b.checkout,
                                             adults=b.adults) for b in bookings]

    def _update_members(self, reservation_id: PmsId | None, assignments: str, **params: object) -> None:
        """``UPDATE reservations SET <assignments>, updated_at = now()`` on the group's live members (every live
        reservation of the hotel when *reservation_id* is None), as the API's update handler stamps it."""
        which = (f"id IN ({MEMBERS})" if reservation_id is not None else
                 "hotel_id = :h AND deleted_at IS NULL")
        self._run(f"UPDATE public.reservations SET {assignments}, updated_at = now() WHERE {which}",
                  r=reservation_id, h=self.hotel_id, **params)

    def set_status(self, reservation_id: PmsId, status: str) -> None:
        self._update_members(reservation_id, "status = :s", s=pms_status(status))

    def move(self, reservation_id: PmsId, checkin: date, checkout: date) -> None:
        # The API would re-price from the legacy room (and fails for a room-type reservation); the amount stays.
        self._update_members(reservation_id, "check_in = :i, check_out = :o", i=checkin, o=checkout)

    def delete(self, reservation_id: PmsId) -> None:
        # The API's delete is a soft delete that also cancels (and leaves updated_at as it was).
        self._run(f"UPDATE public.reservations SET deleted_at = now(), status = 'Cancelled' WHERE id IN ({MEMBERS})",
                  r=reservation_id)

    def update_guest(self, reservation_id: PmsId, **fields: str | None) -> None:
        with self.engine.begin() as c:
            guests = c.execute(text(
                f"SELECT DISTINCT g.id, g.name FROM public.guests g JOIN public.reservations r "
                f"ON r.primary_guest_id = g.id WHERE r.id IN ({MEMBERS})"), {"r": reservation_id}).all()
            self._update_guests(c, guests, fields)

    def update_every_guest(self, **fields: str | None) -> None:
        with self.engine.begin() as c:
            guests = c.execute(text("SELECT id, name FROM public.guests WHERE hotel_id = :h AND deleted_at IS NULL"),
                               {"h": self.hotel_id}).all()
            self._update_guests(c, guests, fields)

    @staticmethod
    def _update_guests(c: Connection, guests: Sequence[Any], fields: Mapping[str, str | None]) -> None:
        unknown = set(fields) - {"first_name", "last_name", "email", "phone"}
        if unknown or not fields:
            raise ValueError(f"cannot set {sorted(unknown) or 'nothing'} on a guest")
        for guest in guests:
            first, last = split_name(guest.name)
            name = guest_name(fields["first_name"] or "" if "first_name" in fields else first,
                              fields["last_name"] or "" if "last_name" in fields else last)
            values: dict[str, object] = {"g": guest.id, "n": name}
            sets = ["name = :n"]
            for column in ("email", "phone"):
                if column in fields:
                    sets.append(f"{column} = :{column}")
                    values[column] = fields[column] or None  # the API stores an empty value as NULL
            c.execute(text(f"UPDATE public.guests SET {', '.join(sets)}, updated_at = now() WHERE id = :g"), values)

    def update_lines(self, reservation_id: PmsId, *, room_type_id: PmsId | None = None,
                     room_id: PmsId | None = None, checkin: date | None = None, checkout: date | None = None,
                     adults: int | None = None) -> None:
        # A line is a unit of the one reservation: occupancy is the reservation's (adults per line x units),
        # a line's room is the requested room.
        given: dict[str, tuple[str, object]] = {
            "room_type_id": ("room_type_id = :room_type_id", room_type_id),
            "reserved_room_id": ("reserved_room_id = :reserved_room_id", room_id),
            "check_in": ("check_in = :check_in", checkin), "check_out": ("check_out = :check_out", checkout),
            "adults": ("num_adult = :adults * coalesce(units_requested, 1)", adults)}
        chosen = {name: (assignment, value) for name, (assignment, value) in given.items() if value is not None}
        if not chosen:
            raise ValueError("update_lines needs a field to set")
        self._update_members(reservation_id, ", ".join(a for a, _ in chosen.values()),
                             **{name: value for name, (_, value) in chosen.items()})

    def shift_lines(self, reservation_id: PmsId | None, *, checkin_days: int = 0, checkout_days: int = 0) -> None:
        self._update_members(reservation_id, "check_in = check_in + :i, check_out = check_out + :o",
                             i=checkin_days, o=checkout_days)

    def add_line(self, reservation_id: PmsId, *, room_type_id: PmsId, checkin: date, checkout: date,
                 adults: int = 2) -> PmsId:
        """One more unit of the member with that room type and stay; that PMS cannot hold another type or stay
        in the same reservation."""
        with self.engine.begin() as c:
            member = c.execute(text(
                f"UPDATE public.reservations r SET units_requested = coalesce(units_requested, 1) + 1, "
                f"num_adult = coalesce(num_adult, 0) + :a, "
                f"total_amount = total_amount + rt.price_per_night * (check_out - check_in), updated_at = now() "
                f"FROM public.room_types rt WHERE rt.id = r.room_type_id AND r.id IN ({MEMBERS}) "
                f"AND r.room_type_id = :t AND r.check_in = :i AND r.check_out = :o "
                f"RETURNING r.id, r.units_requested"),
                {"r": reservation_id, "t": room_type_id, "i": checkin, "o": checkout, "a": adults}).first()
        if member is None:
            raise DeskCannot(PMS, "a reservation holds one room type for one stay (another room type or stay "
                                  "is another reservation)")
        return f"{member.id}#{member.units_requested}"

    def remove_lines(self, reservation_id: PmsId, room_type_id: PmsId) -> None:
        with self.engine.connect() as c:
            held = c.execute(text(f"SELECT 1 FROM public.reservations WHERE id IN ({MEMBERS}) AND room_type_id = :t"),
                             {"r": reservation_id, "t": room_type_id}).first()
        if held is not None:
            raise DeskCannot(PMS, "a reservation holds one room type: removing its lines of that type leaves "
                                  "it none")

    def touch(self, reservation_id: PmsId) -> None:
        # What the API's update handler writes when nothing changed: the same values and a new updated_at.
        with self.engine.begin() as c:
            c.execute(text(f"UPDATE public.reservations SET status = status, updated_at = now() WHERE id IN ({MEMBERS})"),
                      {"r": reservation_id})
            c.execute(text(f"UPDATE public.reservation_guests SET guest_type = guest_type "
                           f"WHERE reservation_id IN ({MEMBERS})"), {"r": reservation_id})

    def set_source(self, reservation_ids: list[PmsId], source: str) -> None:
        written = source if source in SOURCES else "Other"
        with self.engine.begin() as c:
            for reservation_id in reservation_ids:
                c.execute(text(f"UPDATE public.reservations SET source = :s, updated_at = now() "
                               f"WHERE id IN ({MEMBERS})"), {"s": written, "r": reservation_id})

    def reservation_ids(self) -> set[PmsId]:
        """The port's reservations (groups) of every hotel, soft-deleted ones too: the port reads those as
        cancelled, as the built-in PMS keeps a cancelled reservation."""
        with self.engine.connect() as c:
            return set(c.scalars(text(
                "SELECT DISTINCT coalesce(g.group_id, r.id::text) FROM public.reservations r "
                "LEFT JOIN hms_reservation_groups g ON g.reservation_id = r.id::text")))

    def kept_lines(self, lines: Sequence[BookedLine]) -> list[BookedLine]:
        """A reservation per room type and stay: its rooms share out the occupancy and money evenly (remainders
        on the first), and only the first keeps its room (the requested room)."""
        stays: dict[tuple[int, date, date], list[BookedLine]] = {}
        for line in lines:
            stays.setdefault(line[:3], []).append(line)
        kept: list[BookedLine] = []
        for (room_type, checkin, checkout), rooms in stays.items():
            n = len(rooms)
            adults, children = (_shares(sum(r[i] for r in rooms), n) for i in (4, 5))
            prices, taxes = (_cent_shares(sum((r[i] for r in rooms), Decimal(0)), n) for i in (6, 7))
            kept += [(room_type, checkin, checkout, rooms[0][3] if k == 0 else None, adults[k], children[k],
                      prices[k], taxes[k]) for k in range(n)]
        return kept

    # -- rates and availability ------------------------------------------------------------------------------

    def set_rate(self, room_type_id: PmsId, night: date, price: str) -> None:
        raise DeskCannot(PMS, "no rate per night: one price_per_night per room type")

    def set_rates(self, room_type_id: PmsId, prices: Mapping[date, str]) -> None:
        raise DeskCannot(PMS, "no rate per night: one price_per_night per room type")

    def remove_rates(self, price: str) -> None:
        raise DeskCannot(PMS, "every night has a rate: price_per_night is NOT NULL")

    def raise_rates(self, amount: str) -> None:
        self._run("UPDATE public.room_types SET price_per_night = price_per_night + :a, updated_at = now() "
                  "WHERE hotel_id = :h AND deleted_at IS NULL", a=amount, h=self.hotel_id)

    def close_night(self, room_type_id: PmsId, night: date) -> None:
        raise DeskCannot(PMS, "no closed nights")

    def close_nights(self, room_type_id: PmsId, nights: Sequence[date]) -> None:
        raise DeskCannot(PMS, "no closed nights")

    def open_night(self, room_type_id: PmsId, night: date) -> None:
        raise DeskCannot(PMS, "no closed nights")

    def reopen_every_night(self) -> None:
        """Nothing to do: that PMS has no closed nights."""

    def room_out_of_order(self, room_id: PmsId, date_from: date, date_to: date) -> None:
        # A room is out of service for as long as its status says so: every night, not a period.
        self._run("UPDATE public.rooms SET status = 'Out of Service', updated_at = now() WHERE id = :r", r=room_id)

    def rooms_out_of_order_of_type(self, room_type_id: PmsId, count: int, date_from: date, date_to: date) -> None:
        self._run("UPDATE public.rooms SET status = 'Out of Service', updated_at = now() WHERE id IN "
                  "(SELECT id FROM public.rooms WHERE room_type_id = :t ORDER BY id LIMIT :n)", t=room_type_id, n=count)

    def touch_ari(self, room_type_id: PmsId) -> None:
        with self.engine.begin() as c:
            c.execute(text("UPDATE public.room_types SET price_per_night = price_per_night, updated_at = now() "
                           "WHERE id = :t"), {"t": room_type_id})
            c.execute(text("UPDATE public.rooms SET status = status, updated_at = now() WHERE room_type_id = :t"),
                      {"t": room_type_id})

    # -- fault injection -------------------------------------------------------------------------------------

    @contextmanager
    def marking_published_waits_on(self, advisory_lock: int) -> Iterator[None]:
        # A test trigger on qlosync's outbox for this PMS: the relay's "mark sent" waits on the lock.
        self._run("CREATE FUNCTION test_hold_mark_sent() RETURNS trigger LANGUAGE plpgsql AS "
                  f"$$ BEGIN PERFORM pg_advisory_xact_lock_shared({int(advisory_lock)}); RETURN NEW; END $$")
        self._run("CREATE TRIGGER test_hold_mark_sent BEFORE UPDATE ON hms_outbox FOR EACH ROW "
                  "WHEN (NEW.published_at IS NOT NULL) EXECUTE FUNCTION test_hold_mark_sent()")
        try:
            yield
        finally:
            self._run("DROP TRIGGER test_hold_mark_sent ON hms_outbox")
            self._run("DROP FUNCTION test_hold_mark_sent()")

    # -- inbound suites --------------------------------------------------------------------------------------

    def guest(self, first: str, last: str, email: str | None = None, phone: str | None = None) -> PmsId:
        return self._one("INSERT INTO public.guests (hotel_id, name, email, phone) VALUES (:h, :n, :e, :p) "
                         "RETURNING id", h=self.hotel_id, n=guest_name(first, last), e=email or None, p=phone or None)

    def delete_hotel(self, hotel_id: PmsId) -> None:
        # Its API soft-deletes a hotel.
        self._run("UPDATE public.hotels SET deleted_at = now(), updated_at = now() WHERE id = :h", h=hotel_id)

    def guest_count(self) -> int:
        return int(self._one("SELECT count(*) FROM public.guests"))

    def reservation_count(self) -> int:
        return len(self.reservation_ids())

    def write_fingerprint(self) -> dict[str, object]:
        with self.engine.connect() as c:
            return {table: tuple(c.execute(text(
                f"SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM {table}")).one())
                for table in self.WRITE_TABLES}

    def unsent_change(self, age_s: float) -> None:
        # What the capture triggers write for a reservation; aggregate_id need not name a live one.
        self._run("INSERT INTO hms_outbox (aggregate, aggregate_id, operation, created_at) "
                  "VALUES ('reservation', gen_random_uuid()::text, 'create', now() - make_interval(secs => :s))",
                  s=age_s)

    def age_unsent_changes(self, age_s: float) -> None:
        self._run("UPDATE hms_outbox SET created_at = now() - make_interval(secs => :s) WHERE published_at IS NULL",
                  s=age_s)
