"""Parse QloApps JSON/XML documents into models (XML only through defusedxml).

Every parser raises :class:`PayloadError` when a document does not have the expected shape; the client
turns that into :class:`~qlosync.qloapps.errors.QloAppsBadResponse`. Request bodies are built in
:mod:`qlosync.qloapps.bodies`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

from qlosync.qloapps.models import (
    Availability,
    Booking,
    BookingRoom,
    BookingRoomType,
    Customer,
    CustomerDetail,
    FeaturePrice,
    Hotel,
    HotelRoom,
    Order,
    OrderState,
    PriceDetails,
    RoomBooking,
    RoomRate,
    RoomType,
    RoomTypeAvailability,
)

T = TypeVar("T")
_ZERO_DATES = ("", "0000-00-00", "0000-00-00 00:00:00")


class PayloadError(ValueError):
    """A QloApps document did not have the expected shape."""


# -- scalar helpers ----------------------------------------------------------------------------------

def _get(d: Mapping[str, Any], key: str) -> Any:
    try:
        return d[key]
    except (KeyError, TypeError):
        raise PayloadError(f"missing field {key!r}") from None


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    try:
        return int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise PayloadError(f"not an integer: {value!r}") from None


def to_decimal(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        # str() first: a float that slipped through keeps its short repr instead of binary noise.
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise PayloadError(f"not a number: {value!r}") from None


def to_datetime(value: Any) -> datetime | None:
    """Parse ``YYYY-MM-DD HH:MM:SS`` (or a bare date); QloApps' zero date gives None."""
    text = "" if value is None else str(value).strip()
    if text in _ZERO_DATES:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"not a date/time: {value!r}") from None


def to_date(value: Any) -> date:
    parsed = to_datetime(value)
    if parsed is None:
        raise PayloadError(f"missing date: {value!r}")
    return parsed.date()


def _required_dt(value: Any) -> datetime:
    parsed = to_datetime(value)
    if parsed is None:
        raise PayloadError(f"missing date/time: {value!r}")
    return parsed


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def parse_child_ages(value: Any) -> tuple[int, ...]:
    """room_bookings.child_ages is a JSON-encoded string: "[7]" from JSON posts, '["6"]' from XML (B10)."""
    if value is None or value == "" or value == 0:
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise PayloadError(f"child_ages is not JSON: {value!r}") from None
    if isinstance(value, Mapping):  # XML-style wrapper {"child_age": [...]}
        value = value.get("child_age", [])
    if not isinstance(value, list):
        value = [value]
    return tuple(to_int(age) for age in value)


def as_list(value: Any, inner: str | None = None) -> list[Any]:
    """A JSON array, an XML-style wrapper ``{inner: [...] | {...}}``, an id-keyed object, or empty."""
    if value is None or value == "" or value == 0:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        if inner is not None and inner in value:
            return as_list(value[inner])
        return list(value.values())
    return [value]


def records(doc: Any, root: str) -> list[Mapping[str, Any]]:
    """The rows of a list answer: ``{root: [...]}``, or the bare ``[]`` QloApps sends when empty (B5)."""
    if doc == [] or doc == {}:
        return []
    if not isinstance(doc, Mapping) or root not in doc:
        raise PayloadError(f"expected a {root!r} list")
    rows = doc[root]
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise PayloadError(f"{root!r} is not a list of objects")
    return rows


def record(doc: Any, root: str) -> Mapping[str, Any]:
    """The object of a single-resource answer ``{root: {...}}``."""
    found = doc.get(root) if isinstance(doc, Mapping) else None
    if not isinstance(found, Mapping):
        raise PayloadError(f"expected a {root!r} object")
    return found


def parse_many(doc: Any, root: str, parse: Callable[[Mapping[str, Any]], T]) -> list[T]:
    return [parse(row) for row in records(doc, root)]


# -- resources ---------------------------------------------------------------------------------------

def parse_order(d: Mapping[str, Any]) -> Order:
    bookings = as_list((d.get("associations") or {}).get("bookings"), "booking")
    return Order(
        id=to_int(_get(d, "id")),
        id_customer=to_int(_get(d, "id_customer")),
        current_state=to_int(_get(d, "current_state")),
        date_add=_required_dt(_get(d, "date_add")),
        date_upd=_required_dt(_get(d, "date_upd")),
        reference=_str(d.get("reference")),
        source=_str(d.get("source")),
        id_currency=to_int(d.get("id_currency", 0)),
        total_paid=to_decimal(d.get("total_paid")),
        total_paid_tax_incl=to_decimal(d.get("total_paid_tax_incl")),
        total_paid_tax_excl=to_decimal(d.get("total_paid_tax_excl")),
        total_paid_real=to_decimal(d.get("total_paid_real")),
        total_products=to_decimal(d.get("total_products")),
        total_products_wt=to_decimal(d.get("total_products_wt")),
        total_discounts=to_decimal(d.get("total_discounts")),
        room_booking_ids=tuple(to_int(_get(b, "id") if isinstance(b, Mapping) else b) for b in bookings),
    )


def parse_room_booking(d: Mapping[str, Any]) -> RoomBooking:
    return RoomBooking(
        id=to_int(_get(d, "id")),
        id_order=to_int(_get(d, "id_order")),
        id_product=to_int(_get(d, "id_product")),
        id_room=to_int(_get(d, "id_room")),
        id_hotel=to_int(_get(d, "id_hotel")),
        id_customer=to_int(d.get("id_customer", 0)),
        date_from=to_date(_get(d, "date_from")),
        date_to=to_date(_get(d, "date_to")),
        adults=to_int(d.get("adults", 0)),
        children=to_int(d.get("children", 0)),
        child_ages=parse_child_ages(d.get("child_ages")),
        total_price_tax_excl=to_decimal(d.get("total_price_tax_excl")),
        total_price_tax_incl=to_decimal(d.get("total_price_tax_incl")),
        is_cancelled=bool(to_int(d.get("is_cancelled", 0))),
        is_refunded=bool(to_int(d.get("is_refunded", 0))),
        room_num=_str(d.get("room_num")),
        room_type_name=_str(d.get("room_type_name")),
        id_status=to_int(d.get("id_status", 0)),
        date_upd=to_datetime(d.get("date_upd")),
    )


def parse_customer(d: Mapping[str, Any]) -> Customer:
    return Customer(
        id=to_int(_get(d, "id")),
        firstname=_str(d.get("firstname")),
        lastname=_str(d.get("lastname")),
        email=_str(d.get("email")),
        phone=_str(d.get("phone")),
        date_upd=to_datetime(d.get("date_upd")),
    )


def _name(value: Any) -> str:
    # Multilingual fields are a plain string in JSON with one language, else a list of {id, value}.
    if isinstance(value, list):
        return _str(value[0].get("value")) if value and isinstance(value[0], Mapping) else ""
    return _str(value)


def parse_hotel(d: Mapping[str, Any]) -> Hotel:
    room_types = as_list((d.get("associations") or {}).get("room_types"), "room_type")
    return Hotel(
        id=to_int(_get(d, "id")),
        name=_name(d.get("hotel_name")),
        city=_str(d.get("city")),
        email=_str(d.get("email")),
        phone=_str(d.get("phone")),
        check_in=_str(d.get("check_in")),
        check_out=_str(d.get("check_out")),
        active=bool(to_int(d.get("active", 1))),
        room_type_ids=tuple(to_int(_get(r, "id")) for r in room_types if isinstance(r, Mapping)),
    )


def parse_room_type(d: Mapping[str, Any]) -> RoomType:
    return RoomType(
        id=to_int(_get(d, "id")),
        name=_name(d.get("name")),
        price=to_decimal(d.get("price")),
        id_hotel=to_int(d["id_hotel"]) if d.get("id_hotel") not in (None, "") else None,
        active=bool(to_int(d.get("active", 1))),
        adults=to_int(d["adults"]) if d.get("adults") not in (None, "") else None,
        children=to_int(d["children"]) if d.get("children") not in (None, "") else None,
    )


def parse_hotel_room(d: Mapping[str, Any]) -> HotelRoom:
    return HotelRoom(
        id=to_int(_get(d, "id")),
        id_product=to_int(_get(d, "id_product")),
        id_hotel=to_int(_get(d, "id_hotel")),
        room_num=_str(d.get("room_num")),
        id_status=to_int(d.get("id_status", 1)),
    )


def parse_order_state(d: Mapping[str, Any]) -> OrderState:
    return OrderState(
        id=to_int(_get(d, "id")),
        name=_name(d.get("name")),
        paid=bool(to_int(d.get("paid", 0))),
        template=_name(d.get("template")),
    )


def parse_booking(doc: Any) -> Booking:
    """``{"booking": {...}}`` from GET/POST/PUT /api/bookings (JSON)."""
    b = record(doc, "booking")
    assoc = b.get("associations") or {}
    cd = assoc.get("customer_detail") or {}
    pd = assoc.get("price_details") or {}
    room_types = []
    for rt in as_list(assoc.get("room_types"), "room_type"):
        rooms = tuple(
            BookingRoom(
                id_room=to_int(_get(r, "id_room")),
                id_hotel_booking=to_int(_get(r, "id_hotel_booking")),
                adults=to_int(r.get("adults", 0)),
                child=to_int(r.get("child", 0)),
                unit_price_without_tax=to_decimal(r.get("unit_price_without_tax")),
                total_tax=to_decimal(r.get("total_tax")),
            )
            for r in as_list(rt.get("rooms"), "room")
        )
        room_types.append(
            BookingRoomType(
                id_room_type=to_int(_get(rt, "id_room_type")),
                checkin_date=to_date(_get(rt, "checkin_date")),
                checkout_date=to_date(_get(rt, "checkout_date")),
                number_of_rooms=to_int(rt.get("number_of_rooms", len(rooms))),
                name=_name(rt.get("name")),
                total_tax=to_decimal(rt.get("total_tax")),
                rooms=rooms,
            )
        )
    return Booking(
        id=to_int(_get(b, "id")),
        id_property=to_int(_get(b, "id_property")),
        currency=_str(b.get("currency")),
        source=_str(b.get("source")),
        booking_date=to_datetime(b.get("booking_date")),
        customer_detail=CustomerDetail(
            firstname=_str(cd.get("firstname")),
            lastname=_str(cd.get("lastname")),
            email=_str(cd.get("email")),
            phone=_str(cd.get("phone")),
            id_customer=to_int(cd["id_customer"]) if cd.get("id_customer") not in (None, "") else None,
        ),
        price_details=PriceDetails(
            total_paid=to_decimal(pd.get("total_paid")),
            total_price_without_tax=to_decimal(pd.get("total_price_without_tax")),
            total_tax=to_decimal(pd.get("total_tax")),
        ),
        remarks=tuple(_str(r) for r in as_list(assoc.get("remarks"), "remark")),
        room_types=tuple(room_types),
    )


def _room_ids(group: Any) -> tuple[int, ...]:
    # Groups are objects keyed by id_room, or [] when empty (B39).
    ids = []
    for key, room in (group.items() if isinstance(group, Mapping) else enumerate(as_list(group))):
        ids.append(to_int(room.get("id_room", key)) if isinstance(room, Mapping) else to_int(key))
    return tuple(sorted(ids))


def parse_availability(doc: Any) -> Availability:
    """``{"hotel_ari": {...}}`` from POST /api/hotel_ari with output_format=JSON (B38, B39)."""
    a = record(doc, "hotel_ari")
    types = []
    for rt in as_list(a.get("room_types"), "room_type"):
        rooms = rt.get("rooms") or {}
        if not isinstance(rooms, Mapping):
            rooms = {}
        types.append(
            RoomTypeAvailability(
                id_room_type=to_int(_get(rt, "id_room_type")),
                name=_name(rt.get("name")),
                base_price=to_decimal(rt.get("base_price")),
                base_price_with_tax=to_decimal(rt.get("base_price_with_tax")),
                total_price=to_decimal(rt.get("total_price")),
                total_price_with_tax=to_decimal(rt.get("total_price_with_tax")),
                available_room_ids=_room_ids(rooms.get("available")),
                booked_room_ids=_room_ids(rooms.get("booked")),
                partially_available_room_ids=_room_ids(rooms.get("partially_available")),
                unavailable_room_ids=_room_ids(rooms.get("unavailable")),
            )
        )
    return Availability(
        id_hotel=to_int(_get(a, "id_hotel")),
        date_from=to_date(_get(a, "date_from")),
        date_to=to_date(_get(a, "date_to")),
        currency=_str(a.get("currency")),
        total_rooms=to_int(a.get("total_rooms", 0)),
        total_available_rooms=to_int(a.get("total_available_rooms", 0)),
        room_types=tuple(types),
    )


# -- XML documents -----------------------------------------------------------------------------------

def xml_root(text: str | bytes) -> Element:
    """Parse untrusted XML safely (no entities, no external references)."""
    try:
        return SafeET.fromstring(text)
    except Exception as exc:  # defusedxml raises ParseError or its own DefusedXmlException subclasses
        raise PayloadError(f"not valid XML ({type(exc).__name__})") from None


def _xml_child(parent: Element, tag: str) -> Element:
    child = parent.find(tag)
    if child is None:
        raise PayloadError(f"missing XML element <{tag}>")
    return child


def _xml_text(parent: Element, tag: str, default: str | None = None) -> str:
    child = parent.find(tag)
    if child is None:
        if default is None:
            raise PayloadError(f"missing XML element <{tag}>")
        return default
    if len(child) and child[0].tag == "language":  # multilingual field
        return (child[0].text or "").strip()
    return (child.text or "").strip()


def parse_room_rates_xml(text: str | bytes) -> list[RoomRate]:
    """``<getRoomRatesApi><rate_list><date/><room_types><room_type>...`` (B41); one entry per night."""
    api = _xml_child(xml_root(text), "getRoomRatesApi")
    rates = []
    for rate_list in api.findall("rate_list"):
        night = to_date(_xml_text(rate_list, "date"))
        for rt in rate_list.findall("room_types/room_type"):
            rate = _xml_child(rt, "rate")
            rates.append(
                RoomRate(
                    date=night,
                    id_room_type=to_int(_xml_text(rt, "id")),
                    tax_exc=to_decimal(_xml_text(rate, "tax_exc")),
                    tax_inc=to_decimal(_xml_text(rate, "tax_inc")),
                    available_rooms=to_int(_xml_text(rt, "available_rooms", "0")),
                )
            )
    return rates


def parse_customer_xml(text: str | bytes) -> Customer:
    c = _xml_child(xml_root(text), "customer")
    return Customer(
        id=to_int(_xml_text(c, "id")),
        firstname=_xml_text(c, "firstname", ""),
        lastname=_xml_text(c, "lastname", ""),
        email=_xml_text(c, "email", ""),
        phone=_xml_text(c, "phone", ""),
        date_upd=to_datetime(_xml_text(c, "date_upd", "")),
    )


def parse_feature_price(d: Mapping[str, Any]) -> FeaturePrice:
    """One row of a JSON ``feature_prices`` listing (the listing carries no group associations)."""
    groups = as_list((d.get("associations") or {}).get("groups"), "group")
    return FeaturePrice(
        id=to_int(_get(d, "id")),
        id_product=to_int(_get(d, "id_product")),
        date_from=to_date(_get(d, "date_from")),
        date_to=to_date(_get(d, "date_to")),
        impact_way=to_int(d.get("impact_way", 0)),
        impact_type=to_int(d.get("impact_type", 0)),
        impact_value=to_decimal(d.get("impact_value")),
        active=bool(to_int(d.get("active", 1))),
        group_ids=tuple(to_int(g.get("id") if isinstance(g, Mapping) else g) for g in groups),
        name=_name(d.get("feature_price_name")),
        date_selection_type=to_int(d.get("date_selection_type", 1)),
    )


def parse_feature_price_xml(text: str | bytes) -> FeaturePrice:
    fp = _xml_child(xml_root(text), "feature_price")
    return FeaturePrice(
        id=to_int(_xml_text(fp, "id")),
        id_product=to_int(_xml_text(fp, "id_product")),
        date_from=to_date(_xml_text(fp, "date_from")),
        date_to=to_date(_xml_text(fp, "date_to")),
        impact_way=to_int(_xml_text(fp, "impact_way")),
        impact_type=to_int(_xml_text(fp, "impact_type")),
        impact_value=to_decimal(_xml_text(fp, "impact_value")),
        active=bool(to_int(_xml_text(fp, "active", "1") or "1")),
        group_ids=tuple(to_int(g.findtext("id", "")) for g in fp.findall("associations/groups/group")),
        name=_xml_text(fp, "feature_price_name", ""),
        date_selection_type=to_int(_xml_text(fp, "date_selection_type", "1") or "1"),
    )
