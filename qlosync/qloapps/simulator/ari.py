"""Availability and rates: /api/hotel_ari (XML body only) and /api/qlo/* (JSON output is always [])."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .clock import parse_datetime
from .pricing import ari_night_price, room_type_tax_rate
from .seed import seed_data
from .wire import ApiError, Response, cdata, json_response, number, php_fatal, xml_response
from .xmlio import as_list, document_body, looks_like_xml, parse_xml

if TYPE_CHECKING:
    from .store import Store

QLO_METHODS = ["getRoomTypes", "getRoomRates", "updRoomRateAvail"]


def _flag(values: dict[str, Any], key: str) -> bool:
    return str(values.get(key, "")).strip() == "1"


class Availability:
    """hotel_ari search and the qlo library methods."""

    def __init__(self, store: "Store") -> None:
        self.store = store

    # ------------------------------------------------------------------ hotel_ari
    def hotel_ari(self, method: str, params: dict[str, str], body: bytes, as_json: bool) -> Response:
        """POST /api/hotel_ari; GET only serves the synopsis schema."""
        if method == "GET" and params.get("schema") == "synopsis":
            return xml_response(_schema_inner("hotel_ari/synopsis"))
        if method != "POST":
            raise ApiError(405, (23, f"Method {method} is not valid"))
        if not looks_like_xml(body):
            raise ApiError(400, (85, "Validation error: Invalid ARI search parameters found."))
        try:
            _, values = document_body(parse_xml(body))
        except ValueError:
            raise ApiError(400, (85, "Validation error: Invalid ARI search parameters found.")) from None
        values = values if isinstance(values, dict) else {}
        for key in ("id_hotel", "date_from", "date_to"):
            if not str(values.get(key, "")).strip():
                raise ApiError(400, (41, f'parameter "{key}" required'))
        try:
            d_from = parse_datetime(values["date_from"]).date()
            d_to = parse_datetime(values["date_to"]).date()
        except ValueError:
            raise ApiError(400, (85, "Validation error: Invalid ARI search parameters found.")) from None
        if d_to <= d_from:
            raise ApiError(400, (85, 'Validation error: "Date to" must be after "date from"'))
        types = self._types(values.get("id_room_type"))
        with self.store.lock:
            if _flag(values, "date_wise_breakdown"):
                nights = [self._search(values, types, d_from + timedelta(days=i), d_from + timedelta(days=i + 1),
                                       compact=True) for i in range((d_to - d_from).days)]
                return json_response({"hotel_aris": nights}) if as_json else xml_response(
                    "<hotel_aris>\n" + "".join(_ari_xml(n, self.store.base_url) for n in nights) + "</hotel_aris>\n")
            doc = self._search(values, types, d_from, d_to, compact=False)
        return json_response({"hotel_ari": doc}) if as_json else xml_response(_ari_xml(doc, self.store.base_url))

    def _types(self, wanted: Any) -> list[int]:
        ids = self.store.room_type_ids()
        try:
            return [int(wanted)] if str(wanted or "").strip() and int(wanted) in ids else ids
        except ValueError:
            return ids

    def _search(self, values: dict[str, Any], types: list[int], d_from: date, d_to: date,
                compact: bool) -> dict[str, Any]:
        flags = {k: _flag(values, f"get_{k}_rooms") for k in ("available", "booked", "partial_available",
                                                                "unavailable")}
        explicit = any(flags.values())
        f_s, t_s = f"{d_from} 00:00:00", f"{d_to} 00:00:00"
        totals = {"available": 0, "unavailable": 0, "partial_available": 0, "booked": 0}
        room_types, total_rooms = [], 0
        for rt in types:
            hrt = self.store.hotel_room_type(rt) or {"max_adults": 2, "max_children": 2, "max_guests": 4}
            groups: dict[str, dict[str, Any]] = {"unavailable": {}, "booked": {}, "available": {},
                                                 "partially_available": {}}
            for room in self.store.rooms_of_type(rt):
                total_rooms += 1
                taken = self.store.booked_days(room["id"], f_s, t_s)
                key = str(room["id"])
                if taken == 0:
                    totals["available"] += 1
                    groups["available"][key] = ({"id_room": room["id"], "room_num": room["room_num"]} if compact else
                                                {"id_room": room["id"], "id_product": rt, "id_hotel": room["id_hotel"],
                                                 "room_num": room["room_num"], "room_comment": room.get("comment", ""),
                                                 "max_adult": hrt["max_adults"], "max_children": hrt["max_children"],
                                                 "max_occupancy": hrt["max_guests"]})
                else:
                    bucket = "booked" if taken == (d_to - d_from).days else "partially_available"
                    totals["booked" if bucket == "booked" else "partial_available"] += 1
                    groups[bucket][key] = {"id_product": rt, "id_room": room["id"], "id_hotel": room["id_hotel"],
                                           "room_num": room["room_num"], "detail": self._details(room["id"], f_s, t_s)}
            excl = sum(ari_night_price(self.store, rt, date.fromordinal(d))
                       for d in range(d_from.toordinal(), d_to.toordinal()))
            nights = (d_to - d_from).days
            rate = room_type_tax_rate(self.store, rt)
            rooms: dict[str, Any] = {}
            shown = [("unavailable", "unavailable"), ("booked", "booked"), ("available", "available"),
                     ("partial_available", "partially_available")]
            for flag, group in shown:
                if (flags[flag] if explicit else flag == "available"):
                    rooms[group] = groups[group] or []
            room_types.append({"id_room_type": rt, "base_price": number(excl / nights),
                               "base_price_with_tax": number(excl / nights * (1 + rate)),
                               "total_price": number(excl), "total_price_with_tax": number(excl * (1 + rate)),
                               "name": self.store.table("room_types")[rt]["name"], "rooms": rooms})
        doc: dict[str, Any] = {"id_hotel": str(values.get("id_hotel")).strip(), "date_from": str(d_from),
                               "date_to": str(d_to), "currency": "USD", "total_rooms": total_rooms}
        if compact:
            doc["room_types"] = room_types
            doc["total_available_rooms"] = totals["available"]
            return doc
        doc["total_available_rooms"] = totals["available"]
        for flag in ("unavailable", "partial_available", "booked"):
            if flags[flag]:
                doc[f"total_{flag}_rooms"] = totals[flag]
        doc["room_types"] = room_types
        return doc

    def _details(self, id_room: int, f_s: str, t_s: str) -> list[dict[str, Any]]:
        out = []
        for lid, line in sorted(self.store.table("room_bookings").items()):
            if line["id_room"] == id_room and not line["is_cancelled"] and line["date_from"] < t_s \
                    and f_s < line["date_to"]:
                order = self.store.table("orders").get(line["id_order"], {})
                out.append({"id_htl_booking": lid, "date_from": line["date_from"], "date_to": line["date_to"],
                            "id_customer": line["id_customer"], "booking_type": 1,
                            "booking_status": 1 if order.get("current_state") != 4 else 3, "comment": ""})
        return out

    # ------------------------------------------------------------------ qlo
    def qlo(self, method: str, sub: str, params: dict[str, str], body: bytes, as_json: bool) -> Response:
        """GET qlo/getRoomTypes, GET qlo/getRoomRates, POST qlo/updRoomRateAvail."""
        if sub not in QLO_METHODS:
            listed = '", "'.join(QLO_METHODS)
            from .wire import did_you_mean
            raise ApiError(400, (48, f'Method with name "{sub}" does not exist in Qlo Library,. Did you mean: '
                                     f'"{did_you_mean(sub, QLO_METHODS)}"? The full list is: "{listed}"'))
        if sub == "updRoomRateAvail":
            return self._upd_rate_avail(method, body)
        if not str(params.get("id_hotel", "")).strip():
            raise ApiError(400, (100, "You have to set 'id_hotel' parameter to get a result"))
        if as_json:
            return json_response([])  # the JSON output of /api/qlo is always [] (B41)
        with self.store.lock:
            if sub == "getRoomTypes":
                items = "".join(f"<room_type>\n<name>{cdata(rt['name'])}</name>\n<id>{cdata(rt['id'])}</id>\n"
                                f"<status>{cdata(rt.get('active', 1))}</status>\n</room_type>\n"
                                for _, rt in sorted(self.store.table("room_types").items()))
                return xml_response(f"<room_types>\n{items}</room_types>\n")
            return xml_response(self._room_rates_xml(params))

    def _room_rates_xml(self, params: dict[str, str]) -> str:
        try:
            d_from = parse_datetime(params.get("date_from", "")).date()
            d_to = parse_datetime(params.get("date_to", "")).date()
        except ValueError:
            raise ApiError(400, (100, "You have to set 'date_from' and 'date_to' parameters to get a result"))
        types = self._types(params.get("id_room_type"))
        parts = ["<getRoomRatesApi>\n"]
        day = d_from
        while day < d_to:
            parts.append(f"<rate_list>\n<date>{cdata(str(day))}</date>\n<room_types>\n")
            nxt = f"{day + timedelta(days=1)} 00:00:00"
            for rt in types:
                excl = ari_night_price(self.store, rt, day)
                incl = excl * (1 + room_type_tax_rate(self.store, rt))
                free = sum(1 for r in self.store.rooms_of_type(rt)
                           if self.store.room_free(r["id"], f"{day} 00:00:00", nxt))
                parts.append(f"<room_type>\n<id>{cdata(rt)}</id>\n<rate>\n<tax_inc>{cdata(number(incl))}</tax_inc>\n"
                             f"<tax_exc>{cdata(number(excl))}</tax_exc>\n</rate>\n"
                             f"<available_rooms>{cdata(free)}</available_rooms>\n</room_type>\n")
            parts.append("</room_types>\n</rate_list>\n")
            day += timedelta(days=1)
        parts.append("</getRoomRatesApi>\n")
        return "".join(parts)

    def _upd_rate_avail(self, method: str, body: bytes) -> Response:
        if method != "POST":
            raise ApiError(405, (67, "This HTTP method is not allowed"))
        if not looks_like_xml(body):
            raise ApiError(400, (127, "Invalid json."), (100, "Send XML formated data"))
        try:
            _, values = document_body(parse_xml(body))
        except ValueError:
            raise ApiError(400, (100, "Send XML formated data")) from None
        hotel = (values or {}).get("Hotel") if isinstance(values, dict) else None
        lists = as_list((hotel or {}).get("rate_lists"), "rate_list") if isinstance(hotel, dict) else []
        success = xml_response("<success>\n</success>\n")
        if len(lists) < 2:
            return success  # a single <rate_list> becomes an object and nothing is stored (B42)
        with self.store.lock:
            now = self.store.clock.now_str()
            for rate_list in lists:
                rng = (rate_list or {}).get("date_range") or {}
                entries = as_list((rng.get("RoomTypeLists") or {}), "RoomType")
                for entry in entries:
                    rt = int(entry.get("id") or 0)
                    if "Inventory" in entry:
                        rooms = self.store.rooms_of_type(rt)
                        if rooms:  # side effect before the 500 (274, 279)
                            rooms[0]["id_status"], rooms[0]["date_upd"] = 3, now
                        return php_fatal(500)
                    if str(entry.get("rate", "")).strip() and rt in self.store.table("room_types"):
                        self._store_rule(rt, rng, float(entry["rate"]), now)
        return success

    def _store_rule(self, rt: int, rng: dict[str, Any], rate: float, now: str) -> None:
        catalog = float(self.store.table("room_types")[rt]["price"])
        d_from, d_to = str(rng.get("date_from")), str(rng.get("date_to"))
        self.store.insert("feature_prices", {
            "id_product": rt, "id_cart": 0, "id_guest": 0, "id_room": 0, "date_from": d_from,
            "date_to": self.store.shift_days(d_to, 1), "impact_way": 1 if rate < catalog else 2,
            "is_special_days_exists": 0, "date_selection_type": 2 if d_from == d_to else 1, "special_days": "",
            "impact_type": 2, "impact_value": f"{abs(rate - catalog):.6f}", "active": 1, "date_add": now,
            "date_upd": now, "feature_price_name": "Webservice Feature Price", "associations": {"groups": []}})


def _schema_inner(key: str) -> str:
    text: str = seed_data()["schemas"][key]
    start = text.index(">", text.index("<qloapps")) + 2
    return text[start:text.rindex("</qloapps>")]


def _ari_xml(doc: dict[str, Any], base: str) -> str:
    parts = ["<hotel_ari>\n"]
    for key in ("id_hotel", "date_from", "date_to", "currency", "total_rooms", "total_available_rooms"):
        parts.append(f"<{key}>{cdata(doc.get(key))}</{key}>\n")
    parts.append("<room_types>\n")
    for rt in doc["room_types"]:
        parts.append(f'<room_type id="{rt["id_room_type"]}" xlink:href="{base}/api/room_types/{rt["id_room_type"]}">\n')
        for key in ("id_room_type", "base_price", "base_price_with_tax", "total_price", "total_price_with_tax"):
            parts.append(f"<{key}>{cdata(rt[key])}</{key}>\n")
        parts.append(f'<name><language id="1">{cdata(rt["name"])}</language></name>\n<rooms>\n')
        for group, rooms in rt["rooms"].items():
            parts.append(f"<{group}>\n")
            for rid, room in (rooms.items() if isinstance(rooms, dict) else []):
                parts.append(f'<room id="{rid}">\n<id_room>{cdata(room["id_room"])}</id_room>\n'
                             f'<room_number>{cdata(room["room_num"])}</room_number>\n</room>\n')
            parts.append(f"</{group}>\n")
        parts.append("</rooms>\n</room_type>\n")
    parts.append("</room_types>\n</hotel_ari>\n")
    return "".join(parts)
