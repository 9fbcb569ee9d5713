"""Demo data of a fresh QloApps install (taken from the captures) and a bulk booking generator."""

from __future__ import annotations

import copy
import json
import random
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Store

DATA_FILE = Path(__file__).with_name("data") / "seed.json"

# Reference tables present even without demo data; the rest is the demo hotel.
REFERENCE_TABLES = ("taxes", "tax_rule_groups", "currencies", "order_states")
DEMO_TABLES = ("hotels", "room_types", "hotel_room_types", "hotel_rooms", "room_type_features",
               "hotel_features", "services", "addresses", "customers", "guests")
EMPTY_TABLES = ("orders", "room_bookings", "order_details", "order_histories", "order_payments",
                "feature_prices", "specific_prices", "extra_demands", "hotel_refund_rules",
                "room_type_options", "carts")
PER_NIGHT_AUTO_SERVICES = (5,)  # Room Maintenance Fees: the +250/night seen in ARI (B39)

FIRST_NAMES = ["Liam", "Mia", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
               "Wim", "Xena", "Yuki", "Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Henry"]
LAST_NAMES = ["Brown", "Garcia", "Muller", "Ivanova", "Durand", "Taylor", "Lopez", "Larsen", "Singh",
              "Khan", "Costa", "Jansen", "Popescu", "Tanaka", "Meyer", "Rossi", "Novak", "Berg"]
SOURCES = ["Booking.com", "Expedia", "Direct", "Phone"]


@lru_cache(maxsize=1)
def seed_data() -> dict[str, Any]:
    """The captured demo data (parsed once)."""
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def initial_tables(seed_demo: bool) -> dict[str, dict[int, dict[str, Any]]]:
    """Fresh tables: reference data always, the demo hotel/customer when seed_demo is true."""
    data = seed_data()
    tables: dict[str, dict[int, dict[str, Any]]] = {}
    for name in REFERENCE_TABLES + DEMO_TABLES:
        rows = data[name] if (seed_demo or name in REFERENCE_TABLES) else []
        tables[name] = {int(r["id"]): copy.deepcopy(r) for r in rows}
    for name in EMPTY_TABLES:
        tables[name] = {}
    return tables


def us_state_ids() -> dict[str, int]:
    """US state code -> id_state (same order as the demo tax list: AL=1, AK=2, ...)."""
    out: dict[str, int] = {}
    for tax in seed_data()["taxes"]:
        name = tax["name"]
        if "US-" in name:
            out[name.split("US-")[1].split()[0]] = int(tax["id"])
    return out


def generate(store: "Store", n: int, seed: int = 0) -> list[int]:
    """Create n realistic bookings quickly; overbooking is allowed so it never fails on availability."""
    rng = random.Random(seed)
    types = sorted(store.room_type_ids())
    today = date.fromisoformat(store.clock.today())
    emails: list[tuple[str, str, str]] = []
    created: list[int] = []
    for i in range(n):
        if emails and rng.random() < 0.2:
            first, last, email = rng.choice(emails)
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}.{seed}.{i}@example.com".lower()
            emails.append((first, last, email))
        room_types = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            start = today + timedelta(days=rng.randrange(1, 365))
            nights = rng.randint(1, 14)
            room_types.append({
                "id_room_type": rng.choice(types),
                "checkin_date": start.isoformat(),
                "checkout_date": (start + timedelta(days=nights)).isoformat(),
                "number_of_rooms": rng.choice((1, 1, 1, 2)),
            })
        status = rng.choice((1, 1, 2, 4, 5, 8))
        booking_status, payment_status = {1: (1, 3), 2: (2, 1), 4: (3, 3), 5: (2, 1), 8: (1, 2)}[status]
        inner: dict[str, Any] = {
            "id_property": 1, "currency": "USD", "booking_status": booking_status,
            "payment_status": payment_status, "source": rng.choice(SOURCES),
            "associations": {
                "customer_detail": {"firstname": first, "lastname": last, "email": email,
                                    "phone": f"06{rng.randrange(10**8):08d}"},
                "room_types": room_types,
            },
        }
        if status == 8:
            inner["associations"]["price_details"] = {"total_paid": 100}
        order_id = store.bookings.create(inner, allow_overbooking=True)
        if status == 5:
            store.bookings.set_state(order_id, 5)
        created.append(order_id)
    return created
