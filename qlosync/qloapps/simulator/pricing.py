"""Room rates: catalog price, feature price rules (only those with customer groups), tax."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Store


def tax_rate(store: "Store", id_tax_rules_group: int) -> float:
    """Tax rate of a tax rule group (group n uses tax n in the demo data; 0 = no tax)."""
    tax = store.table("taxes").get(int(id_tax_rules_group or 0))
    return float(tax["rate"]) / 100 if tax else 0.0


def room_type_tax_rate(store: "Store", id_room_type: int) -> float:
    """Tax rate applied to a room type (4 % on the demo data)."""
    room_type = store.table("room_types").get(id_room_type, {})
    return tax_rate(store, int(room_type.get("id_tax_rules_group", 0) or 0))


def _rule_applies(rule: dict[str, Any], id_room_type: int, day: date) -> bool:
    if int(rule.get("id_product", 0) or 0) != id_room_type or str(rule.get("active", "1")) != "1":
        return False
    if not rule.get("associations", {}).get("groups"):
        return False  # updRoomRateAvail rules have no groups and are never applied (B42)
    try:
        start = date.fromisoformat(str(rule["date_from"])[:10])
        end = date.fromisoformat(str(rule["date_to"])[:10])
    except ValueError:
        return False
    if str(rule.get("date_selection_type", "1")) == "2":
        return day == start
    return start <= day <= end


def night_price(store: "Store", id_room_type: int, day: date) -> float:
    """Price excl. tax of one night without services (catalog price adjusted by feature prices)."""
    price = float(store.table("room_types")[id_room_type]["price"])
    if not store.table("feature_prices"):
        return price
    rules = [r for _, r in sorted(store.table("feature_prices").items()) if _rule_applies(r, id_room_type, day)]
    if not rules:
        return price
    rule = rules[-1]
    value = float(rule.get("impact_value") or 0)
    impact_type = str(rule.get("impact_type", "2"))
    if impact_type == "3":
        return value
    delta = price * value / 100 if impact_type == "1" else value
    return price - delta if str(rule.get("impact_way", "2")) == "1" else price + delta


def stay_price(store: "Store", id_room_type: int, date_from: str, date_to: str) -> float:
    """Whole-stay price excl. tax of one room (what bookings store; no auto-added services)."""
    nights = store.nights(date_from, date_to)
    if not store.table("feature_prices"):
        # Every night costs the catalogue price; same float sum as below without a lookup per night, which
        # was a tenth of the time of generating 1,000 shops' bookings.
        return sum([float(store.table("room_types")[id_room_type]["price"])] * len(nights))
    return sum(night_price(store, id_room_type, date.fromordinal(d)) for d in nights)


def ari_night_price(store: "Store", id_room_type: int, day: date) -> float:
    """Per-night price shown by hotel_ari / qlo: room price plus auto-added services (B39)."""
    return night_price(store, id_room_type, day) + store.auto_service_price_per_night(id_room_type)
