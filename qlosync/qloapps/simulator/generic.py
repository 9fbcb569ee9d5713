"""Generic PrestaShop resources (orders, room_bookings, customers, catalog...): list/get/post/put/delete."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .query import DATE1_FIELDS, apply_query, narrow, parse_query
from .seed import seed_data
from .wire import ApiError, Response, empty, json_response, xml_response
from .xmlio import as_list, document_body, id_list_to_xml, looks_like_xml, parse_xml, record_to_xml

if TYPE_CHECKING:
    from .store import Store

ROOM_TYPE_I18N = frozenset({"meta_description", "meta_keywords", "meta_title", "link_rewrite", "name",
                            "description", "description_short", "available_now", "available_later"})


@dataclass(frozen=True)
class Spec:
    """How one generic resource is named, listed and written."""

    name: str
    plural: str
    singular: str
    table: str
    i18n: frozenset[str] = frozenset()
    display_fields: tuple[str, ...] = ()  # explicit display list (else: record keys)
    hidden_display: tuple[str, ...] = ()  # accepted by display=[..] but never output
    filter_fields: tuple[str, ...] = ()  # explicit filter list (else: record keys minus dates)
    not_writable: frozenset[str] = frozenset()
    # The resource's fields, whatever its rows (the real server validates display/filter/sort against its
    # object definition, so an empty table answers the same 400s as a full one). Empty: not known.
    fields: tuple[str, ...] = ()


FEATURE_PRICE_FIELDS = ("id_product", "id_cart", "id_guest", "id_room", "date_from", "date_to", "impact_way",
                        "is_special_days_exists", "date_selection_type", "special_days", "impact_type",
                        "impact_value", "active", "date_add", "date_upd", "feature_price_name")
SPECIFIC_PRICE_FIELDS = ("id", "id_shop_group", "id_shop", "id_cart", "id_product", "id_product_attribute",
                         "id_currency", "id_country", "id_group", "id_customer", "id_specific_price_rule", "price",
                         "from_quantity", "reduction", "reduction_tax", "reduction_type", "from", "to")
# What bookings.py writes for a state change; the same fields as capture 176.
ORDER_HISTORY_FIELDS = ("id", "id_employee", "id_order_state", "id_order", "date_add")


def _keys(names: Any) -> tuple[str, ...]:
    """Field names of a record (or a list of names) as the webservice shows them."""
    return tuple(k for k in names if k != "associations" and not k.startswith("_"))


def _specs() -> dict[str, Spec]:
    data = seed_data()

    def seeded(name: str) -> tuple[str, ...]:  # the fields of a table the captures show rows of
        return _keys(data[name][0])

    s = [
        Spec("orders", "orders", "order", "orders", display_fields=tuple(data["orders_display_fields"]),
             filter_fields=tuple(data["orders_filter_fields"]), fields=_keys(data["orders_fields"])),
        Spec("room_bookings", "bookings", "booking", "room_bookings",
             filter_fields=tuple(data["room_bookings_filter_fields"]), fields=_keys(data["room_bookings_fields"])),
        Spec("customers", "customers", "customer", "customers", fields=_keys(data["customers_fields"])),
        Spec("addresses", "addresses", "address", "addresses", fields=seeded("addresses")),
        Spec("guests", "guests", "guest", "guests", fields=seeded("guests")),
        Spec("hotels", "hotels", "hotel", "hotels",
             i18n=frozenset({"policies", "hotel_name", "description", "short_description"}), fields=seeded("hotels")),
        Spec("room_types", "room_types", "room_type", "room_types", i18n=ROOM_TYPE_I18N,
             hidden_display=("booking_product", "quantity", "manufacturer_name", "id_default_combination"),
             fields=seeded("room_types")),
        Spec("hotel_room_types", "hotel_room_types", "hotel_room_type", "hotel_room_types",
             fields=seeded("hotel_room_types")),
        Spec("hotel_rooms", "rooms", "room", "hotel_rooms", not_writable=frozenset({"id_hotel"}),
             fields=seeded("hotel_rooms")),
        Spec("room_type_features", "room_type_features", "room_type_feature", "room_type_features",
             i18n=frozenset({"name"}), fields=seeded("room_type_features")),
        Spec("hotel_features", "hotel_features", "hotel_feature", "hotel_features", i18n=frozenset({"name"}),
             fields=seeded("hotel_features")),
        Spec("services", "services", "service", "services", i18n=frozenset({"name"}), fields=seeded("services")),
        Spec("order_states", "order_states", "order_state", "order_states", i18n=frozenset({"name", "template"}),
             fields=seeded("order_states")),
        Spec("order_histories", "order_histories", "order_history", "order_histories", fields=ORDER_HISTORY_FIELDS),
        Spec("order_payments", "order_payments", "order_payment", "order_payments",
             fields=_keys(data["order_payments_template"])),
        Spec("order_details", "order_details", "order_detail", "order_details",
             fields=_keys(data["order_details_template"])),
        Spec("feature_prices", "feature_prices", "feature_price", "feature_prices",
             i18n=frozenset({"feature_price_name"}), fields=("id",) + FEATURE_PRICE_FIELDS),
        Spec("specific_prices", "specific_prices", "specific_price", "specific_prices", fields=SPECIFIC_PRICE_FIELDS),
        Spec("currencies", "currencies", "currency", "currencies", fields=seeded("currencies")),
        Spec("taxes", "taxes", "tax", "taxes", i18n=frozenset({"name"}), fields=seeded("taxes")),
        Spec("tax_rule_groups", "tax_rule_groups", "tax_rule_group", "tax_rule_groups",
             fields=seeded("tax_rule_groups")),
    ]
    return {spec.name: spec for spec in s}


SPECS = _specs()


def spec_for(name: str) -> Spec:
    """Spec of a resource; resources without data behave as empty generic tables."""
    return SPECS.get(name) or Spec(name, name, name[:-1] if name.endswith("s") else name, name)


class GenericResources:
    """List/get/create/update/delete on Store tables with PrestaShop semantics."""

    def __init__(self, store: "Store") -> None:
        self.store = store

    # ---------------------------------------------------------------- reading
    def present(self, spec: Spec, row: dict[str, Any]) -> dict[str, Any]:
        """A row as the webservice shows it (internal keys dropped, live associations)."""
        out = {k: v for k, v in row.items() if not k.startswith("_")}
        if spec.name == "room_types":
            assoc = dict(out.get("associations", {}))
            fps = [{"id": fid} for fid, fp in sorted(self.store.table("feature_prices").items())
                   if int(fp.get("id_product") or 0) == row["id"]]
            out["associations"] = {k: assoc.get(k, []) for k in (
                "advance_payments", "categories", "images", "room_type_features", "tags", "hotel_rooms")}
            out["associations"]["feature_prices"] = fps
            out["associations"]["extra_demands"] = []
            out["associations"]["services"] = assoc.get("services", [])
        return out

    def _fields(self, spec: Spec, rows: list[dict[str, Any]]) -> list[str]:
        """The resource's schema; only a resource without one falls back on its first row (or nothing)."""
        if spec.fields:
            return list(spec.fields)
        sample = rows[0] if rows else {}
        return [k for k in sample if k != "associations"]

    def list(self, name: str, params: dict[str, str], as_json: bool) -> Response:
        """GET /api/<resource> with display/filter/sort/limit."""
        spec = spec_for(name)
        with self.store.lock:
            table = self.store.table(spec.table)
            first = table[min(table)] if table and not spec.fields else None
            fields = self._fields(spec, [self.present(spec, first)] if first is not None else [])
            display_fields = list(spec.display_fields) or fields + list(spec.hidden_display)
            filter_fields = list(spec.filter_fields) or [f for f in fields if f not in DATE1_FIELDS]
            q = parse_query(params, display_fields, filter_fields, sorted(spec.i18n), strict=bool(fields))
            # Rows by id, kept by the table between writes; an id filter or one on an indexed field reads
            # only the rows it keeps (sync asks for 100 rows out of 100,000s: each request reading every
            # row made a full import quadratic). Then filter, sort and page, and copy only the rows answered.
            raw, rest, by_int_id = narrow(table, q.filters)
            rows = [self.present(spec, r) for r in apply_query(raw, q, rest, by_int_id)]
        if q.full:
            docs = [_strip_empty_assoc(r) if as_json else r for r in rows]
        elif q.display is not None:
            wanted = set(q.display)
            docs = [{k: v for k, v in r.items() if k in wanted} for r in rows]
        else:
            docs = [{"id": r["id"]} for r in rows]
        if as_json:
            return json_response({spec.plural: docs} if docs else [])
        if q.full or q.display is not None:
            inner = "".join(record_to_xml(spec.singular, d, self.store.base_url, spec.i18n) for d in docs)
            return xml_response(f"<{spec.plural}>\n{inner}</{spec.plural}>\n")
        return xml_response(id_list_to_xml(spec.plural, spec.singular, [d["id"] for d in docs],
                                           self.store.base_url, name))

    def get(self, name: str, rid: int, as_json: bool) -> Response:
        """GET /api/<resource>/<id>; missing -> 404 with an empty body (B4)."""
        spec = spec_for(name)
        with self.store.lock:
            row = self.store.table(spec.table).get(rid)
            doc = self.present(spec, row) if row else None
        if doc is None:
            return empty(404)
        return self.render_one(spec, doc, as_json)

    def render_one(self, spec: Spec, doc: dict[str, Any], as_json: bool, status: int = 200) -> Response:
        """One record as {"singular": {...}} or its XML."""
        if as_json:
            return json_response({spec.singular: _strip_empty_assoc(doc)}, status)
        return xml_response(record_to_xml(spec.singular, doc, self.store.base_url, spec.i18n), status)

    # ---------------------------------------------------------------- writing
    def _parse_body(self, body: bytes) -> dict[str, Any]:
        text = body.decode("utf-8", "replace")
        if not looks_like_xml(body):
            raise ApiError(500, (127, f"XML error : String could not be parsed as XML\nXML length : "
                                      f"{len(text)}\nOriginal XML : {text}"))
        try:
            _, value = document_body(parse_xml(body))
        except ValueError:
            raise ApiError(500, (127, f"XML error : String could not be parsed as XML\nXML length : "
                                      f"{len(text)}\nOriginal XML : {text}")) from None
        return value if isinstance(value, dict) else {}

    def create(self, name: str, body: bytes, as_json: bool) -> Response:
        """POST (XML body only, B35) -> 201 with the new record."""
        spec = spec_for(name)
        values = self._parse_body(body)
        with self.store.lock:
            now = self.store.clock.now_str()
            record = self._new_record(spec, values, now)
            rid = self.store.insert(spec.table, record)
            doc = self.present(spec, self.store.table(spec.table)[rid])
        return self.render_one(spec, doc, as_json, 201)

    def update(self, name: str, rid: int, body: bytes, as_json: bool) -> Response:
        """PUT (XML body only); resets date_add like QloApps does (B37)."""
        spec = spec_for(name)
        values = self._parse_body(body)
        for key in values:
            if key in spec.not_writable:
                raise ApiError(400, (93, f'parameter "{key}" not writable. Please remove this attribute of this XML'))
        with self.store.lock:
            table = self.store.table(spec.table)
            rid = int(values.get("id") or rid)
            if rid not in table:
                return empty(404)
            row = table[rid]
            now = self.store.clock.now_str()
            _merge(row, values)
            table.touch()  # any field may have changed in place, an indexed one too
            if "date_add" in row:
                row["date_add"] = now
            if "date_upd" in row:
                row["date_upd"] = now
            if spec.name == "room_types":
                self._destructive_room_type_put(rid, now)
            doc = self.present(spec, row)
        return self.render_one(spec, doc, as_json)

    def delete(self, name: str, rid: int) -> Response:
        """DELETE -> 200 with an empty body (300)."""
        spec = spec_for(name)
        with self.store.lock:
            if self.store.table(spec.table).pop(rid, None) is None:
                return empty(404)
        return empty(200)

    def _new_record(self, spec: Spec, values: dict[str, Any], now: str) -> dict[str, Any]:
        if spec.name == "customers":
            email = str(values.get("email") or "")
            gen = (datetime.strptime(now, "%Y-%m-%d %H:%M:%S") - timedelta(hours=6)).strftime("%Y-%m-%d %H:%M:%S")
            record: dict[str, Any] = {k: None for k in seed_data()["customers_fields"] if k not in ("id",)}
            record.update({k: v for k, v in values.items() if k != "associations"})
            record.update(passwd=hashlib.md5(str(values.get("passwd", "")).encode()).hexdigest(),
                          secure_key=hashlib.md5(f"{email}{now}{len(self.store.table('customers'))}".encode()).hexdigest(),
                          last_passwd_gen=gen, id_lang=values.get("id_lang") or 1, id_shop=1, id_shop_group=1,
                          date_add=now, date_upd=now,
                          associations={"groups": [{"id": int(values.get("id_default_group") or 3)}]})
            return record
        if spec.name == "feature_prices":
            record = {k: "" for k in FEATURE_PRICE_FIELDS}
            record.update({k: v for k, v in values.items() if k not in ("associations", "id")})
            record.update(date_add=now, date_upd=now)
            groups = as_list((values.get("associations") or {}).get("groups"), "group")
            record["associations"] = {"groups": [{"id": g.get("id")} for g in groups if isinstance(g, dict)]}
            return record
        record = {k: v for k, v in values.items() if k != "id"}
        if spec.name not in ("specific_prices",):
            record.setdefault("date_add", now)
            record.setdefault("date_upd", now)
        return record

    def _destructive_room_type_put(self, rid: int, now: str) -> None:
        """PUT room_types recreates hotel_room_types with 1+1 occupancy and zeroes service prices (B36)."""
        rt = self.store.table("room_types")[rid]
        rt["adults"], rt["children"] = 1, 1
        hrts = self.store.table("hotel_room_types")
        for hid, row in list(hrts.items()):
            if row["id_product"] == rid:
                del hrts[hid]
                new = dict(row, adults=1, children=1, max_children=0, max_guests=2, date_add=now, date_upd=now)
                self.store.insert("hotel_room_types", new)
        for service in self.store.table("services"):
            self.store.service_prices[(rid, service)] = 0.0
        for entry in rt.get("associations", {}).get("services", []):
            entry["price"], entry["id_tax_rules_group"] = "0.000000", 0
        for entry in rt.get("associations", {}).get("advance_payments", []):
            entry["active"] = 1


def _merge(row: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "associations" and isinstance(value, dict):
            assoc = row.setdefault("associations", {})
            for name, items in value.items():
                if name == "groups":
                    assoc["groups"] = [{"id": g.get("id")} for g in as_list(items, "group") if isinstance(g, dict)]
            continue
        if key == "id":
            continue
        old = row.get(key)
        if isinstance(old, int) and not isinstance(old, bool):
            try:
                value = int(str(value))
            except ValueError:
                pass
        row[key] = value


def _strip_empty_assoc(doc: dict[str, Any]) -> dict[str, Any]:
    """JSON output omits empty association lists (204 has no "tags")."""
    assoc = doc.get("associations")
    if not isinstance(assoc, dict):
        return doc
    kept = {k: v for k, v in assoc.items() if v}
    out = {k: v for k, v in doc.items() if k != "associations"}
    if kept:
        out["associations"] = kept
    return out
