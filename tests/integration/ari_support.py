"""Helpers for the rates and availability (ARI) tests: PMS calendars set at the PMS's front desk
(tests/pms_desk.py), and what QloApps then sells and charges, read the way a guest's search sees it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from tests.pms_desk import desk_for

ROOMS = 5  # per room type in the demo hotel


def sellable(client, qloapps_room_type: int, first, nights: int = 1) -> int:  # type: ignore[no-untyped-def]
    """Rooms of the type QloApps offers for the whole stay (hotel_ari, B38)."""
    ari = client.get_availability(1, first, first + timedelta(days=nights), qloapps_room_type)
    return sum(len(rt.available_room_ids) for rt in ari.room_types if rt.id_room_type == qloapps_room_type)


def close_nights(engine: Engine, room_type: str, *nights: date) -> None:
    desk_for(engine).close_nights(room_type, nights)


def set_rates(engine: Engine, room_type: str, first: date, prices: list[str]) -> None:
    """One rate per night from *first*, set at the PMS's front desk in one transaction (an upsert)."""
    desk_for(engine).set_rates(room_type, {first + timedelta(days=i): price for i, price in enumerate(prices)})


def night_rates(client, qloapps_room_type: int, first: date, nights: int) -> dict[date, Decimal]:  # type: ignore[no-untyped-def]
    """What QloApps charges per night without tax, minus the auto-added services (read on a night no rule touches)."""
    rates = client.get_room_rates(1, first - timedelta(days=1), first + timedelta(days=nights), qloapps_room_type)
    by_night = {r.date: r.tax_exc for r in rates}
    services = by_night.pop(first - timedelta(days=1)) - Decimal("1000")  # room type 1's catalog price
    return {night: price - services for night, price in by_night.items()}
