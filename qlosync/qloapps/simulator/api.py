"""Routing of /api/... requests: auth, API root, unknown resources, bookings glue, generic resources."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from .ari import Availability
from .bookings import BookingEngine
from .generic import SPECS, GenericResources
from .seed import seed_data
from .wire import (HTML_CT, ApiError, RawAnswer, Response, did_you_mean, empty, error_response, json_response,
                   php_fatal, xml_response)
from .xmlio import array_to_xml, document_body, looks_like_xml, parse_xml

if TYPE_CHECKING:
    from .store import Store

REALM = ('Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. '
         'No password required."')


def resource_names() -> list[str]:
    """Every resource the demo key may use (001)."""
    return [r["name"] for r in seed_data()["resources"]]


class Api:
    """Answers one /api/ request; raises nothing (errors become responses)."""

    def __init__(self, store: "Store", api_key: str) -> None:
        self.store = store
        self.api_key = api_key
        self.generic = GenericResources(store)
        self.ari = Availability(store)
        self.names = resource_names()

    def handle(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
               body: bytes) -> Response:
        """Full request handling including auth."""
        as_json = params.get("output_format", "").upper() == "JSON"
        try:
            self._authenticate(headers, params)
            return self._route(method, path, params, body, as_json)
        except ApiError as err:
            return error_response(err, as_json)
        except RawAnswer as raw:
            return raw.response

    # ------------------------------------------------------------------ auth (B2)
    def _authenticate(self, headers: dict[str, str], params: dict[str, str]) -> None:
        key = params.get("ws_key")
        auth = headers.get("authorization", "")
        if key is None and auth.lower().startswith("basic "):
            try:
                key = base64.b64decode(auth[6:].strip()).decode("utf-8", "replace").split(":", 1)[0]
            except ValueError:
                key = ""
        if not key:
            raise RawAnswer(Response(401, b"401 Unauthorized", HTML_CT, {"WWW-Authenticate": REALM}))
        if len(key) != 32:
            raise ApiError(401, (18, "Invalid authentication key format"))
        if key != self.api_key:
            raise ApiError(401, (20, "Authentification key is not active"),
                           (21, "No permission for this authentication key"))

    # ------------------------------------------------------------------ routing
    def _route(self, method: str, path: str, params: dict[str, str], body: bytes, as_json: bool) -> Response:
        parts = [p for p in path[len("/api"):].split("/") if p]
        if not parts:
            return self._root(as_json)
        resource = parts[0]
        if resource not in self.names:
            listed = '", "'.join(self.names)
            raise ApiError(400, (27, f'Resource of type "{resource}" does not exists. Did you mean: '
                                     f'"{did_you_mean(resource, self.names)}"? The full list is: "{listed}"'))
        if resource == "extra_services":
            return php_fatal(500)  # declared with a parameter the class lacks (213)
        if resource == "hotel_ari":
            return self.ari.hotel_ari(method, params, body, as_json)
        if resource == "qlo":
            return self.ari.qlo(method, parts[1] if len(parts) > 1 else "", params, body, as_json)
        rid = _int(parts[1]) if len(parts) > 1 else None
        if len(parts) > 1 and rid is None:
            return empty(404)
        if resource == "bookings":
            return self._bookings(method, rid, params, body, as_json)
        return self._generic(method, resource, rid, params, body, as_json)

    def _root(self, as_json: bool) -> Response:
        if as_json:
            return json_response(self.names)
        base = self.store.base_url
        flags = 'get="true" put="true" post="true" delete="true" head="true"'
        out = ['<api shopName="QloTest">\n']
        for res in seed_data()["resources"]:
            href = f'{base}/api/{res["name"]}'
            out.append(f'<{res["name"]} xlink:href="{href}" {flags}>\n<description xlink:href="{href}" {flags}>\n'
                       f'{res["description"]}</description>\n')
            for kind in res["schemas"]:
                out.append(f'<schema xlink:href="{href}?schema={kind}" type="{kind}"/>\n')
            out.append(f'</{res["name"]}>\n')
        out.append("</api>\n")
        return xml_response("".join(out))

    # ------------------------------------------------------------------ generic
    def _generic(self, method: str, resource: str, rid: int | None, params: dict[str, str], body: bytes,
                 as_json: bool) -> Response:
        if method in ("GET", "HEAD"):
            if params.get("schema") in ("blank", "synopsis"):
                return self._schema(resource, params["schema"], as_json)
            if rid is None:
                return self.generic.list(resource, params, as_json)
            return self.generic.get(resource, rid, as_json)
        if method == "POST":
            return self.generic.create(resource, body, as_json)
        if method == "PUT":
            if rid is None:
                raise ApiError(400, (90, "id is required when modifying a resource"))
            return self.generic.update(resource, rid, body, as_json)
        if method == "DELETE":
            if rid is None:
                raise ApiError(400, (90, "You have to set an id to delete a resource"))
            return self.generic.delete(resource, rid)
        raise ApiError(405, (101, f"Method {method} is not allowed for the resource {resource}"))

    def _schema(self, resource: str, kind: str, as_json: bool) -> Response:
        stored = seed_data()["schemas"].get(f"{resource}/{kind}")
        if stored and not as_json:
            return Response(200, stored.encode("utf-8"), "text/xml;charset=utf-8")
        spec = SPECS.get(resource)
        rows = list(self.store.table(spec.table).values()) if spec else []
        fields = [k for k in (rows[0] if rows else {"id": 0}) if not k.startswith("_") and k != "associations"]
        singular = spec.singular if spec else resource.rstrip("s")
        if as_json:
            return json_response({singular: {f: "" for f in fields}})
        inner = "".join(f"\t<{f}></{f}>\n" for f in fields)
        return xml_response(f"<{singular}>\n{inner}</{singular}>\n")

    # ------------------------------------------------------------------ bookings
    def _bookings(self, method: str, rid: int | None, params: dict[str, str], body: bytes,
                  as_json: bool) -> Response:
        engine: BookingEngine = self.store.bookings
        if method in ("GET", "HEAD"):
            if params.get("schema") == "synopsis":
                if as_json:
                    return json_response(seed_data()["bookings_schema_json"])
                return Response(200, seed_data()["schemas"]["bookings/synopsis"].encode(), "text/xml;charset=utf-8")
            with self.store.lock:
                if rid is None:
                    ids = engine.list_ids()
                    if as_json:
                        return json_response({"bookings": [{"id": i} for i in ids]} if ids else [])
                    from .xmlio import id_list_to_xml
                    return xml_response(id_list_to_xml("bookings", "booking", ids, self.store.base_url, "bookings"))
                if rid not in self.store.table("orders"):
                    return empty(404)
                return self._booking_doc(engine.represent(rid), as_json)
        if method in ("POST", "PUT"):
            inner, wrapper_missing = _booking_body(body)
            if method == "POST":
                order_id = engine.create(inner, wrapper_missing=wrapper_missing)
            else:
                order_id = engine.update(inner)
            with self.store.lock:
                return self._booking_doc(engine.represent(order_id), as_json)
        raise ApiError(405, (101, f"Method {method} is not allowed for the resource bookings"))

    @staticmethod
    def _booking_doc(doc: dict[str, Any], as_json: bool) -> Response:
        if as_json:
            return json_response({"booking": doc})
        return xml_response(array_to_xml("booking", doc) + "\n")


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _booking_body(body: bytes) -> tuple[dict[str, Any], bool]:
    """(inner booking object, wrapper missing?) from a JSON or XML body; junk gives ({}, False)."""
    if looks_like_xml(body):
        try:
            tag, value = document_body(parse_xml(body))
        except ValueError:
            return {}, False
        return (value if isinstance(value, dict) else {}), tag != "booking"
    try:
        doc = json.loads(body.decode("utf-8")) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return {}, False
    if not isinstance(doc, dict):
        return {}, False
    if "booking" not in doc:
        return {}, True
    return (doc["booking"] if isinstance(doc["booking"], dict) else {}), False
