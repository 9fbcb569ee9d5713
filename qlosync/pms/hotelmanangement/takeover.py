"""What the PMS's TypeScript QloApps workers left behind, read once for ``qlosync adopt`` (qlosync.ops.adopt).

Their state is in the PMS's own ``public.qloapps_config`` (one row per hotel) and four mapping tables in
``public``. qlosync has tables of the same names in its own schema, so every name here is written
``public.<name>``. Each mapping row comes with what the PMS knows of the row it points at (is it a live
room type, room, guest or reservation of the same hotel?), so the adoption can say why a row is left out.

Nothing here writes; the stored API key stays encrypted until :func:`api_key` is asked for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.errors import ConfigurationError
from qlosync.pms.hotelmanangement.workers_key import MasterKey, UndecryptableKeyError, decrypt
from qlosync.secrets import Secret

T = TypeVar("T")


@dataclass(frozen=True)
class WorkersConfig:
    """One hotel's row of ``public.qloapps_config``, with the hotel's name."""

    hotel_id: str
    hotel_name: str
    hotel_deleted: bool
    base_url: str
    qloapps_hotel_id: int | None
    sync_enabled: bool
    api_key_encrypted: str = field(repr=False)


@dataclass(frozen=True)
class RoomTypeLink:
    local_room_type_id: str
    qloapps_product_id: str
    qloapps_hotel_id: str
    known: bool  # a live room type of this hotel
    active: bool = True  # is_active: the workers ignored inactive rows


@dataclass(frozen=True)
class RoomLink:
    qloapps_room_id: str
    local_room_id: str
    local_room_type_id: str | None  # the mapping's, else the room's
    room_number: str | None  # None: this hotel has no room with that id
    qloapps_hotel_id: str = ""
    active: bool = True


@dataclass(frozen=True)
class CustomerLink:
    local_guest_id: str
    qloapps_customer_id: str
    match_type: str | None
    known: bool  # a live guest of this hotel
    qloapps_hotel_id: str = ""
    active: bool = True


@dataclass(frozen=True)
class ReservationLink:
    """A row of ``public.qloapps_reservation_mappings``: ``qloapps_order_id`` holds an ORDER id for source 'pms'
    and a ROOM_BOOKINGS id for the others (what the workers' pull stored)."""

    local_reservation_id: str
    qloapps_order_id: str
    qloapps_hotel_id: str
    source: str
    active: bool
    created_at: datetime | None  # the reservation's; None: this hotel has no reservation with that id
    deleted: bool = False  # soft-deleted in the PMS


@dataclass(frozen=True)
class HotelTakeover:
    """Everything the workers kept for one hotel."""

    config: WorkersConfig
    room_types: tuple[RoomTypeLink, ...] = ()
    rooms: tuple[RoomLink, ...] = ()
    customers: tuple[CustomerLink, ...] = ()
    reservations: tuple[ReservationLink, ...] = ()


def api_key(config: WorkersConfig, master: MasterKey) -> Secret:
    """The hotel's QloApps API key in clear; :class:`UndecryptableKeyError` saying why it cannot be had."""
    if not config.api_key_encrypted.strip():
        raise UndecryptableKeyError("no API key is stored")
    return decrypt(config.api_key_encrypted, master)


#: The PMS's tables read here (each in public).
TABLES = ("hotels", "rooms", "room_types", "guests", "reservations", "qloapps_config", "qloapps_room_type_mappings",
          "qloapps_room_mappings", "qloapps_customer_mappings", "qloapps_reservation_mappings")


class NotThatPmsError(ConfigurationError):
    """The database lacks the PMS's tables: it is not a hotelmanangement PMS (or not the one)."""


def read_takeover(session: Session) -> list[HotelTakeover]:
    """Every hotel's workers' state, by hotel name: one query per table for all hotels."""
    missing = [name for name, found in zip(TABLES, session.execute(text(
        "SELECT " + ", ".join(f"to_regclass('public.{name}') IS NOT NULL" for name in TABLES))).one(), strict=True)
        if not found]
    if missing:
        raise NotThatPmsError(f"the database has no {', '.join('public.' + name for name in missing)}: it is not a "
                              "hotelmanangement PMS whose QloApps workers could be taken over "
                              "(check it with `qlosync pms check --pms hotelmanangement`)")
    configs = [WorkersConfig(str(hotel_id), name, deleted, base_url or "", qloapps_hotel_id, bool(enabled),
                             api_key_encrypted=encrypted or "")
               for hotel_id, name, deleted, base_url, qloapps_hotel_id, enabled, encrypted in session.execute(text(
                   "SELECT c.hotel_id, h.hotel_name, h.deleted_at IS NOT NULL, c.base_url, c.qloapps_hotel_id, "
                   "       c.sync_enabled, c.api_key_encrypted "
                   "FROM public.qloapps_config c JOIN public.hotels h ON h.id = c.hotel_id "
                   "ORDER BY h.hotel_name, c.hotel_id"))]
    room_types = _grouped(session, (
        "SELECT m.hotel_id, m.local_room_type_id, m.qloapps_product_id, m.qloapps_hotel_id, "
        "       rt.id IS NOT NULL AND rt.deleted_at IS NULL, m.is_active "
        "FROM public.qloapps_room_type_mappings m "
        "LEFT JOIN public.room_types rt ON rt.id = m.local_room_type_id AND rt.hotel_id = m.hotel_id "
        "ORDER BY m.created_at, m.id"),
        lambda row: RoomTypeLink(str(row[0]), str(row[1]).strip(), str(row[2]).strip(), bool(row[3]),
                                 row[4] is not False))
    rooms = _grouped(session, (
        "SELECT m.hotel_id, m.qloapps_room_id, m.local_room_id, COALESCE(m.local_room_type_id, r.room_type_id), "
        "       r.room_number, m.qloapps_hotel_id, m.is_active "
        "FROM public.qloapps_room_mappings m "
        "LEFT JOIN public.rooms r ON r.id = m.local_room_id AND r.hotel_id = m.hotel_id "
        "ORDER BY m.created_at, m.id"),
        lambda row: RoomLink(str(row[0]).strip(), str(row[1]), _text(row[2]), row[3], str(row[4]).strip(),
                             row[5] is not False))
    customers = _grouped(session, (
        "SELECT m.hotel_id, m.local_guest_id, m.qloapps_customer_id, m.match_type, "
        "       g.id IS NOT NULL AND g.deleted_at IS NULL, m.qloapps_hotel_id, m.is_active "
        "FROM public.qloapps_customer_mappings m "
        "LEFT JOIN public.guests g ON g.id = m.local_guest_id AND g.hotel_id = m.hotel_id "
        "ORDER BY m.created_at, m.id"),
        lambda row: CustomerLink(str(row[0]), str(row[1]).strip(), row[2], bool(row[3]), str(row[4]).strip(),
                                 row[5] is not False))
    reservations = _grouped(session, (
        "SELECT m.hotel_id, m.local_reservation_id, m.qloapps_order_id, m.qloapps_hotel_id, m.source, "
        "       m.is_active, r.created_at, r.deleted_at IS NOT NULL "
        "FROM public.qloapps_reservation_mappings m "
        "LEFT JOIN public.reservations r ON r.id = m.local_reservation_id AND r.hotel_id = m.hotel_id "
        "ORDER BY m.created_at, m.id"),
        lambda row: ReservationLink(str(row[0]), str(row[1]).strip(), str(row[2]).strip(), row[3],
                                    row[4] is not False, row[5], bool(row[6])))
    return [HotelTakeover(config, tuple(room_types[config.hotel_id]), tuple(rooms[config.hotel_id]),
                          tuple(customers[config.hotel_id]), tuple(reservations[config.hotel_id]))
            for config in configs]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _grouped(session: Session, sql: str, make: Callable[[tuple[Any, ...]], T]) -> dict[str, list[T]]:
    """The rows of *sql* (hotel id first) made into links by *make* (given the other columns), per hotel."""
    out: dict[str, list[T]] = defaultdict(list)
    for row in session.execute(text(sql)):
        out[str(row[0])].append(make(tuple(row[1:])))
    return out
