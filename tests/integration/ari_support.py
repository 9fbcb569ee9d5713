"""Helpers for the rates and availability (ARI) tests: PMS calendars written by plain SQL, as a host PMS
would, and what QloApps then sells and charges, read the way a guest's search sees it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

ROOMS = 5  # per room type in the demo hotel


def sellable(client, qloapps_room_type: int, first, nights: int = 1) -> int:  # type: ignore[no-untyped-def]
    """Rooms of the type QloApps offers for the whole stay (hotel_ari, B38)."""
    ari = client.get_availability(1, first, first + timedelta(days=nights), qloapps_room_type)
    return sum(len(rt.available_room_ids) for rt in ari.room_types if rt.id_room_type == qloapps_room_type)


def close_nights(engine: Engine, room_type: int, *nights) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as c:
        for night in nights:
            c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) VALUES (:t, :n)"), {"t": room_type, "n": night})


def set_rates(engine: Engine, room_type: int, first: date, prices: list[str]) -> None:
    """Upsert one rate per night from *first*, by plain SQL as a host PMS would."""
    with engine.begin() as c:
        for i, price in enumerate(prices):
            c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, :n, :p) "
                           "ON CONFLICT (room_type_id, night) DO UPDATE SET price = excluded.price"),
                      {"t": room_type, "n": first + timedelta(days=i), "p": price})


def night_rates(client, qloapps_room_type: int, first: date, nights: int) -> dict[date, Decimal]:  # type: ignore[no-untyped-def]
    """What QloApps charges per night without tax, minus the auto-added services (read on a night no rule touches)."""
    rates = client.get_room_rates(1, first - timedelta(days=1), first + timedelta(days=nights), qloapps_room_type)
    by_night = {r.date: r.tax_exc for r in rates}
    services = by_night.pop(first - timedelta(days=1)) - Decimal("1000")  # room type 1's catalog price
    return {night: price - services for night, price in by_night.items()}
