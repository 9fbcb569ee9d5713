"""Build QloApps request bodies: booking JSON, and XML for generic resources and hotel_ari.

Bookings take JSON ``{"booking": {...}}`` (B12) with occupancy as ``adult`` (singular), ``child`` and
``child_ages`` (B13, B14). Generic resources (customers, feature_prices) and hotel_ari take XML only
(B35, B38). Inputs that QloApps would silently mangle or answer with a 200 "Fatal error" or an empty 500
(B14, B18) are refused here with :class:`QloAppsInvalidRequest`, before anything is sent.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from qlosync.qloapps.errors import QloAppsInvalidRequest
from qlosync.qloapps.models import (
    Booking,
    BookingRequest,
    CustomerDetail,
    FeaturePriceRequest,
    RoomRequest,
    RoomTypeRequest,
)

# PrestaShop's Validate::isName and isPhoneNumber: names with digits give an empty 500 (B18).
_NAME_RE = re.compile(r'^[^0-9!<>,;?=+()@#"°{}_$%:¤|]*$')
_PHONE_RE = re.compile(r"^[+0-9. ()/-]*$")
# Deliberately simple: it only has to catch what makes QloApps answer 200 "Fatal error" (B18).
_EMAIL_RE = re.compile(r"^[^@\s\[\]|,]+@[^@\s\[\]|,]+\.[A-Za-z0-9-]{2,}$")
# Customer::$definition sizes, in characters: longer values fail its validation (an empty 500, like B18).
NAME_MAX_CHARS, EMAIL_MAX_CHARS = 32, 128
XLINK = "http://www.w3.org/1999/xlink"


def _invalid(message: str) -> QloAppsInvalidRequest:
    return QloAppsInvalidRequest(message)


def _check_storable(label: str, value: str, limit: int) -> None:
    # The messages name the field and the limit, never the value (it may be personal data).
    if len(value) > limit:
        raise _invalid(f"customer {label} is {len(value)} characters, QloApps stores at most {limit}")
    if any(ord(char) > 0xFFFF for char in value):
        # QloApps' tables are MySQL utf8 (3 bytes): such a value would be cut off there, silently.
        raise _invalid(f"customer {label} has a character QloApps cannot store (an emoji or another beyond U+FFFF)")


def check_email(email: str) -> str:
    if not _EMAIL_RE.match(email or ""):
        raise _invalid("customer e-mail is not a valid address")
    return email


def check_person(firstname: str, lastname: str, email: str, phone: str) -> None:
    """Refuse names, e-mails and phones that QloApps answers with a 500 or an HTML page (B18, B19), or that
    it would store cut off (longer than its columns, characters its utf8 tables cannot hold)."""
    for label, value in (("firstname", firstname), ("lastname", lastname)):
        if not value or not value.strip():
            raise _invalid(f"customer {label} is empty")
        if not _NAME_RE.match(value):
            raise _invalid(f"customer {label} contains digits or characters QloApps rejects")
        _check_storable(label, value, NAME_MAX_CHARS)
    _check_storable("e-mail", check_email(email), EMAIL_MAX_CHARS)
    if not phone or not _PHONE_RE.match(phone):
        raise _invalid("customer phone is empty or not a phone number")


def _number(value: Decimal) -> int | float:
    # JSON has no decimal type; float's shortest repr keeps the digits of any 2-decimal amount.
    return int(value) if value == value.to_integral_value() else float(value)


def _room_json(room: RoomRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if room.id_room is not None:
        out["id_room"] = room.id_room
    if room.adults is not None:
        if room.adults < 1:
            raise _invalid("a room needs at least one adult")
        out["adult"] = room.adults  # singular: "adults" is silently ignored (B13)
    if room.child_ages is not None:
        if room.children != len(room.child_ages):
            # "child" without matching ages silently becomes 0 (B14).
            raise _invalid(f"{room.children} children but {len(room.child_ages)} child ages")
        if any(not 0 <= age <= 17 for age in room.child_ages):
            raise _invalid("child ages must be between 0 and 17")
        out["child"] = room.children
        if room.child_ages:
            out["child_ages"] = list(room.child_ages)
    if room.unit_price_without_tax is not None:
        out["unit_price_without_tax"] = _number(room.unit_price_without_tax)  # whole stay (B8, B21)
    return out


def _room_type_json(rt: RoomTypeRequest) -> dict[str, Any]:
    if rt.checkout_date <= rt.checkin_date:
        raise _invalid("check-out must be after check-in")
    count = rt.number_of_rooms if rt.number_of_rooms is not None else len(rt.rooms)
    if count < 1 or (rt.rooms and count != len(rt.rooms)):
        raise _invalid("number_of_rooms must be at least 1 and match the rooms list")
    out: dict[str, Any] = {
        "id_room_type": rt.id_room_type,
        "checkin_date": rt.checkin_date.isoformat(),
        "checkout_date": rt.checkout_date.isoformat(),
        "number_of_rooms": count,
    }
    if rt.rooms:
        out["rooms"] = [_room_json(r) for r in rt.rooms]
    return out


def booking_body(req: BookingRequest) -> bytes:
    """The JSON body of POST (req.id None) or PUT (req.id set: the id goes in the BODY, B23) /api/bookings."""
    if not req.room_types:
        # A PUT deletes every line it does not list (B23); an empty list is never what is meant.
        raise _invalid("a booking needs at least one room type line")
    c = req.customer
    check_person(c.firstname, c.lastname, c.email, c.phone)
    booking: dict[str, Any] = {}
    if req.id is not None:
        booking["id"] = req.id
    booking["id_property"] = req.id_property
    booking["currency"] = req.currency
    if req.booking_status is not None:
        booking["booking_status"] = req.booking_status
    if req.payment_status is not None:
        booking["payment_status"] = req.payment_status
    if req.source is not None:
        booking["source"] = req.source
    if req.booking_date is not None:
        booking["booking_date"] = req.booking_date.strftime("%Y-%m-%d %H:%M:%S")
    if req.remark is not None:
        booking["remark"] = req.remark
    assoc: dict[str, Any] = {
        "customer_detail": {"firstname": c.firstname, "lastname": c.lastname, "email": c.email, "phone": c.phone},
        "room_types": [_room_type_json(rt) for rt in req.room_types],
    }
    if req.payment_detail is not None:
        pd = req.payment_detail
        assoc["payment_detail"] = {
            k: v
            for k, v in (
                ("payment_type", pd.payment_type),
                ("payment_method", pd.payment_method),
                ("transaction_id", pd.transaction_id),
            )
            if v
        }
    prices: dict[str, Any] = {}
    if req.total_paid is not None:
        prices["total_paid"] = _number(req.total_paid)
    if req.total_price_with_tax is not None:
        prices["total_price_with_tax"] = _number(req.total_price_with_tax)
    if prices:
        assoc["price_details"] = prices
    booking["associations"] = assoc
    return json.dumps({"booking": booking}).encode()


def request_from_booking(booking: Booking, booking_status: int | None) -> BookingRequest:
    """A full PUT request that leaves every room line as it is, e.g. to cancel or refund (B26).

    Rooms are pinned by id_room so no line moves to another physical room. Occupancy is sent as
    read (PUT ignores occupancy changes anyway, B25); child ages are unknown to /bookings (B10), so
    ``child`` is not sent.
    """
    lines = []
    for rt in booking.room_types:
        rooms = tuple(RoomRequest(adults=r.adults or None, child_ages=None, id_room=r.id_room) for r in rt.rooms)
        lines.append(RoomTypeRequest(rt.id_room_type, rt.checkin_date, rt.checkout_date, rooms=rooms))
    cd = booking.customer_detail
    return BookingRequest(
        id=booking.id,
        id_property=booking.id_property,
        currency=booking.currency,
        customer=CustomerDetail(cd.firstname, cd.lastname, cd.email, cd.phone),
        room_types=tuple(lines),
        booking_status=booking_status,
        payment_status=None,
    )


def _xml_doc(tag: str) -> tuple[Element, Element]:
    root = Element("qloapps", {"xmlns:xlink": XLINK})
    return root, SubElement(root, tag)


def _add(parent: Element, tag: str, value: object) -> Element:
    child = SubElement(parent, tag)
    child.text = value.isoformat() if isinstance(value, date) else str(value)
    return child


def _xml_bytes(root: Element) -> bytes:
    # The stubs type tostring's answer by encoding only for "unicode" (str); any other encoding gives bytes.
    data: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def customer_xml(
    *, firstname: str, lastname: str, email: str, phone: str, passwd: str, id_default_group: int = 3
) -> bytes:
    """POST /api/customers body (XML only, B35)."""
    check_person(firstname, lastname, email, phone)
    root, c = _xml_doc("customer")
    for tag, value in (
        ("firstname", firstname),
        ("lastname", lastname),
        ("email", email),
        ("passwd", passwd),
        ("active", 1),
        ("id_default_group", id_default_group),
        ("phone", phone),
    ):
        _add(c, tag, value)
    return _xml_bytes(root)


def feature_price_xml(req: FeaturePriceRequest, rule_id: int | None = None) -> bytes:
    """POST (or, with *rule_id*, PUT) /api/feature_prices body (B43): customer groups are required."""
    if req.date_to < req.date_from:
        raise _invalid("feature price date_to is before date_from")
    if not req.group_ids:
        raise _invalid("a feature price without customer groups is never applied (B42)")
    root, fp = _xml_doc("feature_price")
    if rule_id is not None:
        _add(fp, "id", rule_id)
    for tag, value in (
        ("id_product", req.id_product),
        ("date_from", req.date_from),
        ("date_to", req.date_to),
        ("impact_way", req.impact_way),
        ("is_special_days_exists", 0),
        ("date_selection_type", req.date_selection_type),
        ("impact_type", req.impact_type),
        ("impact_value", req.impact_value),
        ("active", int(req.active)),
    ):
        _add(fp, tag, value)
    name = SubElement(fp, "feature_price_name")
    _add(name, "language", req.name).set("id", str(req.id_lang))
    groups = SubElement(SubElement(fp, "associations"), "groups")
    for gid in req.group_ids:
        _add(SubElement(groups, "group"), "id", gid)
    return _xml_bytes(root)


def hotel_ari_xml(
    id_hotel: int,
    date_from: date,
    date_to: date,
    id_room_type: int | None = None,
    *,
    with_booked: bool = False,
) -> bytes:
    """POST /api/hotel_ari body (XML only, B38); date_to is the check-out day."""
    if date_to <= date_from:
        raise _invalid("availability date_to must be after date_from")
    root, ari = _xml_doc("hotel_ari")
    _add(ari, "id_hotel", id_hotel)
    _add(ari, "date_from", date_from)
    _add(ari, "date_to", date_to)
    if id_room_type is not None:
        _add(ari, "id_room_type", id_room_type)
    if with_booked:
        for flag in ("get_available_rooms", "get_booked_rooms", "get_partial_available_rooms", "get_unavailable_rooms"):
            _add(ari, flag, 1)
    return _xml_bytes(root)
