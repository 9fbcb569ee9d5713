"""The /bookings document: an order, its customer (read live, B9) and its room lines grouped by stay."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .wire import number


def booking_document(tables: Mapping[str, Mapping[int, dict[str, Any]]], lines: list[dict[str, Any]],
                     order_id: int) -> dict[str, Any]:
    """The booking document of GET/POST/PUT (no status anywhere, B7)."""
    order = tables["orders"][order_id]
    customer = tables["customers"].get(order["id_customer"], {})
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for line in lines:
        groups.setdefault((line["id_product"], line["date_from"], line["date_to"]), []).append(line)
    room_types = []
    total_tax = 0.0
    for (rt, d_from, d_to), group in groups.items():
        rooms = []
        for l in group:
            excl, incl = float(l["total_price_tax_excl"]), float(l["total_price_tax_incl"])
            rooms.append({"id_room": l["id_room"], "id_hotel_booking": l["id"], "adults": l["adults"],
                          "child": l["children"], "unit_price_without_tax": number(excl),
                          "total_tax": number(incl - excl)})
        tax = round(sum(float(l["total_price_tax_incl"]) - float(l["total_price_tax_excl"]) for l in group), 2)
        total_tax += tax
        room_types.append({"id_room_type": rt, "checkin_date": d_from, "checkout_date": d_to,
                           "total_tax": number(tax), "number_of_rooms": len(group),
                           "name": tables["room_types"].get(rt, {}).get("name", ""), "rooms": rooms})
    excl_total = sum(float(l["total_price_tax_excl"]) for l in lines)
    return {"id": order_id, "id_property": lines[0]["id_hotel"] if lines else 1, "currency": "USD",
            "source": order["source"], "booking_date": order["date_add"], "id_language": 1,
            "associations": {
                "customer_detail": {"id_customer": order["id_customer"], "firstname": customer.get("firstname"),
                                    "lastname": customer.get("lastname"), "email": customer.get("email"),
                                    "phone": customer.get("phone")},
                "price_details": {"total_paid": number(float(order["total_paid_real"])),
                                  "total_price_without_tax": number(excl_total),
                                  "total_tax": number(total_tax)},
                "cart_rules": [], "remarks": list(order.get("_remarks", [])), "room_types": room_types}}
