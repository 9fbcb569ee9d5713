"""The PMS port: everything sync needs from a property management system, and nothing else.

An adapter (``qlosync.pms.builtin`` is the first) implements :class:`Pms` over one database session, so
that its writes commit in the same transaction as qlosync's own mappings. Every operation on rooms,
guests, reservations, rates and availability goes through :meth:`Pms.hotel`: one hotel at a time.

PMS ids are opaque text (:data:`PmsId`): sync code stores, compares and sends them, never computes with
them, so a PMS keyed by integers and one keyed by uuids fit the same mapping tables and messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol, TypeAlias

from qlosync.errors import PermanentError
from qlosync.states import CLOSED_STATUSES

PmsId: TypeAlias = str


# --- hotels and catalog ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hotel:
    id: PmsId
    name: str


@dataclass(frozen=True)
class RoomType:
    """A category of rooms sold at one rate; the occupancy limits are what a push checks against."""

    id: PmsId
    code: str
    name: str
    max_adults: int
    max_children: int


@dataclass(frozen=True)
class NewRoomType:
    code: str
    name: str
    base_price: Decimal
    max_adults: int
    max_children: int


@dataclass(frozen=True)
class Room:
    id: PmsId
    room_type_id: PmsId
    number: str  # unique within its hotel


# --- guests ---------------------------------------------------------------------------------------


@dataclass
class Guest:
    """A PMS guest as matching sees it; ``id`` is None until :meth:`HotelPms.save_guests` creates it.

    Mutable on purpose: matching copies QloApps' details onto it, then saves the guests it changed.
    """

    id: PmsId | None
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None


# --- reservations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuestState:
    id: PmsId
    first_name: str
    last_name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class LineState:
    """One booked room for one stay; the price is the whole stay without tax."""

    id: PmsId
    room_type_id: PmsId
    room_id: PmsId | None
    checkin: date
    checkout: date
    adults: int
    children: int
    child_ages: tuple[int, ...]
    price_without_tax: Decimal
    tax: Decimal = Decimal("0")  # not sent by a push (QloApps computes its own), so not in the content hash


@dataclass(frozen=True)
class PmsState:
    """A PMS reservation as it is now (read fresh, never taken from a message)."""

    reservation_id: PmsId
    status: str
    source: str | None
    total_paid: Decimal
    guest: GuestState
    lines: tuple[LineState, ...]
    changed_at: datetime | None = None  # the newest change of reservation, lines and guest; None when unknown

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


@dataclass(frozen=True)
class LineWrite:
    """A line as an inbound sync wants it; ``id`` names the existing PMS line it overwrites (None: a new one)."""

    id: PmsId | None
    room_type_id: PmsId
    room_id: PmsId | None
    checkin: date
    checkout: date
    adults: int
    children: int
    child_ages: tuple[int, ...]
    price_without_tax: Decimal
    tax: Decimal


@dataclass(frozen=True)
class ReservationWrite:
    """A whole reservation as an inbound sync wants it; ``id`` None creates one.

    The lines replace the reservation's lines: listed ids are overwritten, lines not listed are removed.
    """

    id: PmsId | None
    guest_id: PmsId
    status: str
    source: str | None
    currency: str
    total_without_tax: Decimal
    total_tax: Decimal
    total_paid: Decimal
    booked_at: datetime
    remarks: str
    lines: tuple[LineWrite, ...]


# --- change capture -------------------------------------------------------------------------------


@dataclass
class ReservationChange:
    """The captured changes of one reservation, coalesced: one push."""

    reservation_id: PmsId
    row_ids: list[int] = field(default_factory=list)
    mapping_ids: list[int] = field(default_factory=list)  # set when the reservation was deleted
    first_created_at: datetime | None = None


@dataclass
class RoomTypeChange:
    """The coalesced rate (or availability) changes of one room type: one push for all their nights."""

    room_type_id: PmsId
    operation: str  # OutboxOperation.RATES or .AVAILABILITY
    date_from: date
    date_to: date  # the last night, inclusive
    row_ids: list[int] = field(default_factory=list)


CapturedChange: TypeAlias = ReservationChange | RoomTypeChange


@dataclass(frozen=True)
class Backlog:
    """Captured changes not yet handed to the outbound queue."""

    unsent: int
    oldest_unsent_at: datetime | None

    @property
    def lag_seconds(self) -> float:
        """How long the oldest unsent change has waited (0 with none)."""
        if self.oldest_unsent_at is None:
            return 0.0
        return max(0.0, (datetime.now(UTC) - self.oldest_unsent_at).total_seconds())


class ChangeFeed(Protocol):
    """What the PMS changed, for the relay: claimed under lock, marked once RabbitMQ confirmed it."""

    channel: str  # the PostgreSQL NOTIFY channel a new change is announced on

    def claim(self, limit: int) -> list[CapturedChange]: ...

    def mark_published(self, row_ids: Sequence[int]) -> None: ...

    def backlog(self) -> Backlog: ...

    def request_push(self, reservation_id: PmsId, reason: str) -> None:
        """Queue a push of one reservation, committed with the caller's transaction."""


class RoomTypeNotInHotel(PermanentError):
    """A room type id that the hotel has no room type with (another hotel's, or none at all)."""


# --- the port -------------------------------------------------------------------------------------


class HotelPms(Protocol):
    """One hotel of the PMS: every id it takes or returns belongs to this hotel."""

    hotel_id: PmsId

    # catalog
    def room_types(self) -> list[RoomType]: ...

    def create_room_type(self, new: NewRoomType) -> RoomType: ...

    def rooms(self) -> list[Room]: ...

    def create_room(self, room_type_id: PmsId, number: str) -> Room: ...

    # guests (the matching rules are sync's, in qlosync.sync.inbound.guests)
    def guests_matching(self, ids: Collection[PmsId], emails: Collection[str],
                        phones: Collection[str]) -> list[Guest]:
        """Guests with one of these ids, normalised e-mails or normalised phones, oldest first."""

    def save_guests(self, guests: Sequence[Guest]) -> None:
        """Create the guests without an id (setting it) and write the details of the others."""

    # reservations
    def write_reservations(self, writes: Sequence[ReservationWrite]) -> list[PmsState]:
        """Create or overwrite reservations in bulk (a round trip per table, not per row); the states
        written, in order, with their ids (``changed_at`` None), each state's lines in the order of its
        write's lines (so that a caller can tell which new line got which id)."""

    def reservation_states(self, ids: Collection[PmsId]) -> dict[PmsId, PmsState]:
        """The reservations of this hotel with these ids as they are now; missing ids are left out."""

    # availability and rates, per night first..last inclusive
    def rates(self, room_type_id: PmsId, first: date, last: date) -> dict[date, Decimal]: ...

    def closed_nights(self, room_type_id: PmsId, first: date, last: date) -> set[date]: ...

    def rooms_out_of_order(self, room_type_id: PmsId, first: date, last: date) -> Counter[date]: ...

    def rooms_sold(self, room_type_id: PmsId, first: date, last: date) -> Counter[date]:
        """Per night, the live (not closed) reservation lines of the room type."""

    def sellable_rooms(self, room_type_id: PmsId) -> int | None:
        """How many rooms of the type the PMS sells at most (a PMS with a number of its own, below the rooms it
        has); None: every room QloApps has mapped to the type is sellable."""


class Pms(Protocol):
    """A PMS over one database session (the caller owns the transaction)."""

    name: str
    changes: ChangeFeed

    def hotels(self) -> list[Hotel]: ...

    def hotel(self, hotel_id: PmsId) -> HotelPms:
        """One hotel; raises :class:`qlosync.pms.UnknownHotel` for an id the PMS has no hotel with."""

    def hotels_of_reservations(self, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
        """reservation id → its hotel's id, for the reservations that exist."""

    def hotels_of_room_types(self, ids: Collection[PmsId]) -> dict[PmsId, PmsId]:
        """room type id → its hotel's id, for the room types that exist."""

    def mark_sync_writes(self) -> None:
        """Mark this transaction's PMS writes as coming from QloApps, so change capture does not echo them."""

    def install_change_capture(self) -> None: ...

    def remove_change_capture(self) -> None: ...
