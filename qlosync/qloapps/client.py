"""The QloApps webservice client: requests in, typed models or qlosync errors out.

One pooled :class:`requests.Session` per client; the key goes only in the HTTP Basic header (never
``ws_key=``); no retries (retry policy belongs to the job runtime). Listing methods page through
/api/orders and batch the related room_bookings/customers, because GET /api/bookings cannot page or
filter (B6) and one GET per booking costs ~60x more than a page.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import requests
from requests.auth import AuthBase, _basic_auth_str

from qlosync.errors import ConfigurationError
from qlosync.qloapps import bodies, payloads
from qlosync.qloapps.errors import (
    QloAppsAuthError,
    QloAppsBadResponse,
    QloAppsError,
    QloAppsInvalidRequest,
    QloAppsNotFound,
    QloAppsOutcomeUnknown,
    error_for,
)
from qlosync.qloapps.models import (
    BOOKING_STATUS_CANCELLED,
    BOOKING_STATUS_REFUNDED,
    Availability,
    Booking,
    BookingRequest,
    BookingSnapshot,
    Customer,
    FeaturePrice,
    FeaturePriceRequest,
    Hotel,
    HotelRoom,
    Order,
    OrderState,
    RoomBooking,
    RoomRate,
    RoomType,
)
from qlosync.qloapps.paging import iter_changed_pages, iter_id_pages
from qlosync.runtime import metrics
from qlosync.secrets import Secret

logger = logging.getLogger(__name__)
T = TypeVar("T")

Query = Sequence[tuple[str, str]]
REQUIRED_RESOURCES = ("bookings", "customers", "orders", "room_bookings")
_SORT_BY_CHANGE = "[date_upd_ASC,id_ASC]"
_JSON_ACCEPT = "application/json"
_XML_ACCEPT = "application/xml, text/xml;q=0.9"


class _KeyAuth(AuthBase):
    """HTTP Basic with the key as user and an empty password; reveals the key only into the header."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = _basic_auth_str(self._key.reveal(), "")
        return request

    def __repr__(self) -> str:
        return "_KeyAuth(********)"


def api_root(base_url: str) -> str:
    """Normalise a shop URL (``http://h:8088``, ``.../``, ``.../api``, ``.../api/``) to ``.../api/``."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError("QloApps URL must be an http(s):// URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        # A key in the URL would end up in logs: refuse it instead of silently dropping it.
        raise ConfigurationError("QloApps URL must not contain credentials, a query string or a fragment")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return f"{parts.scheme}://{parts.netloc}{path}/api/"


def _encode(query: Query) -> str:
    # Keep [ ] | , : readable as in the captures; "%", ">", "@" and spaces are escaped.
    return "&".join(f"{quote(k, safe='[]_')}={quote(v, safe='[]|,:_-.')}" for k, v in query)


def _ids_filter(ids: Iterable[int]) -> str:
    return "[" + "|".join(str(int(i)) for i in ids) + "]"


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    unique = sorted(set(int(i) for i in ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class _Ticket(Protocol):
    error: BaseException | None


class RequestGate(Protocol):
    """Admits each request (pacing, concurrency, circuit breaker: qlosync.sync.gate.ShopGate); the client
    puts the error a request ended with on the ticket."""

    def request(self) -> AbstractContextManager[_Ticket]: ...


class _NoTicket:
    error: BaseException | None = None


class _OpenGate:
    """No limits: operator tools and tests that talk to a shop directly."""

    @contextmanager
    def request(self) -> Iterator[_Ticket]:
        yield _NoTicket()


_OPEN_GATE = _OpenGate()


class QloAppsClient:
    """A synchronous client for the QloApps webservice (only what sync needs)."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        page_size: int = 100,
        session: requests.Session | None = None,
        gate: RequestGate | None = None,
    ) -> None:
        if not isinstance(api_key, Secret) or not api_key:
            raise ConfigurationError("the QloApps API key must be a non-empty Secret")
        if page_size < 1:
            raise ConfigurationError("page_size must be at least 1")
        self._api = api_root(base_url)
        self._key = api_key
        self._timeout = (connect_timeout, read_timeout)
        self.page_size = page_size
        self._session = session or requests.Session()
        self._session.auth = _KeyAuth(api_key)
        self._requests = 0
        self._count_lock = threading.Lock()  # a pull's requests run in several threads
        self._gate = gate or _OPEN_GATE

    def __repr__(self) -> str:
        return f"QloAppsClient({self._api!r})"

    @property
    def request_count(self) -> int:
        """Requests sent so far by this client (from every thread)."""
        return self._requests

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> QloAppsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: bytes | None = None,
        content_type: str | None = None,
        xml: bool = False,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send one request and return a 2xx response; anything else raises a QloAppsError."""
        full_query = list(query) if xml else [("output_format", "JSON"), *query]
        url = self._api + path + (f"?{_encode(full_query)}" if full_query else "")
        headers = {"Accept": _XML_ACCEPT if xml else _JSON_ACCEPT}
        if content_type:
            headers["Content-Type"] = content_type
        log_path = "/api/" + path  # ids only: the query may hold personal data (e-mail filters)
        with self._gate.request() as ticket:
            with self._count_lock:
                self._requests += 1
            started = time.perf_counter()
            try:
                # No redirects: a redirected POST silently turns into a GET; a 3xx is reported instead.
                response = self._session.request(
                    method, url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
                )
            except requests.RequestException as exc:
                err = error_for(method, log_path, exc=exc, idempotent=idempotent, secret=self._key.reveal())
                self._log(method, log_path, type(err).__name__, started)
                ticket.error = err
                raise err from None  # the requests message names the URL with its query string
            self._log(method, log_path, response.status_code, started)
            if not 200 <= response.status_code < 300:
                ticket.error = error_for(method, log_path, response=response, idempotent=idempotent,
                                         secret=self._key.reveal())
                raise ticket.error
            return response

    @staticmethod
    def _log(method: str, path: str, outcome: int | str, started: float) -> None:
        elapsed_s = time.perf_counter() - started
        elapsed_ms = elapsed_s * 1000
        metrics.observe_request(path, method, f"{outcome // 100}xx" if isinstance(outcome, int) else outcome, elapsed_s)
        logger.debug(
            "QloApps %s %s -> %s in %.1f ms",
            method,
            path,
            outcome,
            elapsed_ms,
            extra={"action": "qloapps_request", "http_method": method, "path": path, "elapsed_ms": elapsed_ms},
        )

    def _bad(self, method: str, path: str, response: requests.Response, reason: str, idempotent: bool | None) -> QloAppsError:
        return error_for(
            method, "/api/" + path, response=response, reason=reason, idempotent=idempotent, secret=self._key.reveal()
        )

    def _json(self, method: str, path: str, query: Query = (), *, body: bytes | None = None,
              content_type: str | None = None, idempotent: bool | None = None, parse: Callable[[Any], T]) -> T:
        response = self._request(method, path, query=query, body=body, content_type=content_type, idempotent=idempotent)
        try:
            doc = json.loads(response.content.decode("utf-8"), parse_float=Decimal)
        except ValueError as exc:  # includes UnicodeDecodeError
            error = self._bad(method, path, response, f"not the expected JSON ({exc})"[:200], idempotent)
            # A write's bad answer comes wrapped as "outcome unknown": the mark belongs on the answer itself.
            bad = error.cause if isinstance(error, QloAppsOutcomeUnknown) else error
            if isinstance(bad, QloAppsBadResponse):
                bad.garbled = True
            raise error from None
        try:
            return parse(doc)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # includes PayloadError
            raise self._bad(method, path, response, f"not the expected JSON ({exc})"[:200], idempotent) from None

    def _xml(self, method: str, path: str, query: Query = (), *, body: bytes | None = None,
             idempotent: bool | None = None, parse: Callable[[bytes], T]) -> T:
        response = self._request(method, path, query=query, body=body, content_type="text/xml" if body else None,
                                 xml=True, idempotent=idempotent)
        try:
            return parse(response.content)
        except ValueError as exc:  # PayloadError
            raise self._bad(method, path, response, f"not the expected XML ({exc})"[:200], idempotent) from None

    # -- health ------------------------------------------------------------------------------------------

    def ping(self) -> list[str]:
        """GET /api/: check the URL and key; return the resources the key may use."""

        def parse(doc: Any) -> list[str]:
            if not isinstance(doc, list) or not all(isinstance(r, str) for r in doc):
                raise payloads.PayloadError("the API root is not a list of resource names")
            return doc

        resources = self._json("GET", "", parse=parse)
        missing = [r for r in REQUIRED_RESOURCES if r not in resources]
        if missing:
            raise QloAppsAuthError(f"the API key has no access to: {', '.join(missing)}", method="GET", path="/api/")
        return resources

    # -- bookings ----------------------------------------------------------------------------------------

    def get_booking(self, booking_id: int) -> Booking:
        return self._json("GET", f"bookings/{int(booking_id)}", parse=payloads.parse_booking)

    def create_booking(self, req: BookingRequest) -> Booking:
        """POST a booking. 5xx, timeouts and garbage 200s raise QloAppsOutcomeUnknown: reconcile first."""
        if req.id is not None:
            raise QloAppsInvalidRequest("a new booking must not carry an id (QloApps answers 400, B19)")
        return self._json("POST", "bookings", body=bodies.booking_body(req), parse=payloads.parse_booking)

    def update_booking(self, req: BookingRequest) -> Booking:
        """PUT the WHOLE booking: lines not listed are deleted (B23). The id travels in the body."""
        if req.id is None:
            raise QloAppsInvalidRequest("an update needs the booking id (it goes in the body, B23)")
        return self._json("PUT", f"bookings/{int(req.id)}", body=bodies.booking_body(req), parse=payloads.parse_booking)

    def cancel_booking(self, booking: Booking | int) -> Booking:
        """Cancel (order state 4) by a PUT of booking_status 3 with the unchanged rooms (B26).

        Pass an id (or a Booking fetched just now): a stale room list would delete lines (B23).
        """
        return self._set_status(booking, BOOKING_STATUS_CANCELLED)

    def refund_booking(self, booking: Booking | int) -> Booking:
        """Mark refunded (order state 5) by a PUT of booking_status 4 with the unchanged rooms (B26)."""
        return self._set_status(booking, BOOKING_STATUS_REFUNDED)

    def _set_status(self, booking: Booking | int, status: int) -> Booking:
        current = self.get_booking(booking) if isinstance(booking, int) else booking
        return self.update_booking(bodies.request_from_booking(current, status))

    # -- orders, room lines, customers ---------------------------------------------------------------

    def get_order(self, order_id: int) -> Order:
        return self._json("GET", f"orders/{int(order_id)}", parse=lambda d: payloads.parse_order(payloads.record(d, "order")))

    def _by_ids(self, resource: str, root: str, field: str, ids: Iterable[int],
                parse: Callable[[Mapping[str, Any]], T]) -> list[T]:
        out: list[T] = []
        for chunk in _chunks(ids, self.page_size):
            query = [("display", "full"), (f"filter[{field}]", _ids_filter(chunk)), ("sort", "[id_ASC]")]
            out.extend(self._json("GET", resource, query, parse=lambda d: payloads.parse_many(d, root, parse)))
        return out

    def get_orders(self, ids: Iterable[int]) -> list[Order]:
        """Orders by id, one request per page_size ids (``filter[id]=[1|2|3]``); missing ids are absent."""
        return self._by_ids("orders", "orders", "id", ids, payloads.parse_order)

    def get_room_bookings_for_orders(self, order_ids: Iterable[int]) -> list[RoomBooking]:
        """All room lines of these orders, one request per page_size orders (root key "bookings", B32)."""
        return self._by_ids("room_bookings", "bookings", "id_order", order_ids, payloads.parse_room_booking)

    def get_room_bookings(self, ids: Iterable[int]) -> list[RoomBooking]:
        """Room lines by their own id (``filter[id]=[1|2|3]``), one request per page_size ids; missing ids are
        absent."""
        return self._by_ids("room_bookings", "bookings", "id", ids, payloads.parse_room_booking)

    def get_room_bookings_between(self, id_room_type: int, first_night: date, checkout: date,
                                  page_size: int = 500) -> list[RoomBooking]:
        """Every room line of a room type that overlaps the nights first_night..checkout-1 (cancelled ones too):
        ``date_from < checkout`` and ``date_to > first_night``, with ``date=1`` (B28, B29)."""
        query = [("display", "full"), ("date", "1"), ("filter[id_product]", f"[{int(id_room_type)}]"),
                 ("filter[date_from]", f"<[{checkout.isoformat()} 00:00:00]"),
                 ("filter[date_to]", f">[{first_night.isoformat()} 00:00:00]"), ("sort", "[id_ASC]")]
        out: list[RoomBooking] = []
        while True:
            page = self._json("GET", "room_bookings", [*query, ("limit", f"{len(out)},{page_size}")],
                              parse=lambda d: payloads.parse_many(d, "bookings", payloads.parse_room_booking))
            out.extend(page)
            if len(page) < page_size:
                return out

    def get_customers(self, ids: Iterable[int]) -> list[Customer]:
        return self._by_ids("customers", "customers", "id", ids, payloads.parse_customer)

    def find_customers_by_email(self, email: str) -> list[Customer]:
        """Exact e-mail match; several customers can share one e-mail (B17), oldest first."""
        bodies.check_email(email)
        query = [("display", "full"), ("filter[email]", f"[{email}]"), ("sort", "[id_ASC]")]
        return self._json("GET", "customers", query, parse=lambda d: payloads.parse_many(d, "customers", payloads.parse_customer))

    def find_customers_by_name(self, firstname: str, lastname: str) -> list[Customer]:
        """Customers with exactly this first and last name (for guests without an e-mail), oldest first."""
        if any(c in name for name in (firstname, lastname) for c in "[]|"):
            return []  # not expressible as a webservice filter value
        query = [("display", "full"), ("filter[firstname]", f"[{firstname}]"), ("filter[lastname]", f"[{lastname}]"),
                 ("sort", "[id_ASC]")]
        return self._json("GET", "customers", query, parse=lambda d: payloads.parse_many(d, "customers", payloads.parse_customer))

    def get_orders_of_customers(self, customer_ids: Iterable[int]) -> list[Order]:
        """Every order of these customers (``filter[id_customer]=[1|2]``), one request per page_size customers."""
        return self._by_ids("orders", "orders", "id_customer", customer_ids, payloads.parse_order)

    def get_newest_orders(self, count: int) -> list[Order]:
        """The *count* most recently created orders, newest first (one request; sorting by id needs no date=1)."""
        return self._orders_page([("sort", "[id_DESC]")], 0, count)

    def create_customer(self, *, firstname: str, lastname: str, email: str, phone: str,
                        passwd: str, id_default_group: int = 3) -> Customer:
        """POST /api/customers (XML, B35). Not idempotent: a duplicate e-mail is accepted (B17)."""
        body = bodies.customer_xml(firstname=firstname, lastname=lastname, email=email, phone=phone,
                                   passwd=passwd, id_default_group=id_default_group)
        return self._xml("POST", "customers", body=body, parse=payloads.parse_customer_xml)

    # -- listings ----------------------------------------------------------------------------------------

    def _orders_page(self, extra: Query, offset: int, count: int) -> list[Order]:
        query = [("display", "full"), *extra, ("limit", f"{offset},{count}")]
        return self._json("GET", "orders", query, parse=lambda d: payloads.parse_many(d, "orders", payloads.parse_order))

    def iter_orders_changed_since(
        self,
        cursor: tuple[datetime, int] | None,
        *,
        overlap: timedelta = timedelta(seconds=2),
        page_size: int | None = None,
    ) -> Iterator[list[Order]]:
        """Pages of orders changed at or after ``cursor[0] - overlap`` (all orders if cursor is None).

        Ordered by (date_upd, id); each (order, date_upd) version is yielded once per pass, also when
        far more than a page of orders share one second, and an order updated mid-pass is yielded (again)
        with its new date_upd. Store the last yielded ``order.cursor`` as the next cursor. Queries use
        ``date=1`` (B28), ``filter[date_upd]=>[lower - 1s]`` (= ">= lower", B29),
        ``sort=[date_upd_ASC,id_ASC]`` (B30) and ``limit=offset,count``; the algorithm (keyset on the
        second, anchor-checked offset inside it) is documented in :func:`paging.iter_changed_pages`.
        The id half of the cursor is not used to filter: the overlap window re-reads on purpose.
        """
        if cursor is not None and cursor[0].tzinfo is not None:
            raise ValueError("cursor date_upd must be naive, in the QloApps server clock (as Order.date_upd)")
        lower = None if cursor is None else (cursor[0] - overlap).replace(microsecond=0)

        def fetch(since: datetime | None, offset: int, count: int) -> list[Order]:
            extra: list[tuple[str, str]] = [("date", "1")]
            if since is not None:
                extra.append(("filter[date_upd]", f">[{_stamp(since - timedelta(seconds=1))}]"))
            extra.append(("sort", _SORT_BY_CHANGE))
            return self._orders_page(extra, offset, count)

        return iter_changed_pages(fetch, lower, page_size or self.page_size)

    def iter_all_orders(self, page_size: int | None = None) -> Iterator[list[Order]]:
        """Every order, by id, a page at a time (for full reconciliation)."""
        return iter_id_pages(lambda offset, count: self._orders_page([("sort", "[id_ASC]")], offset, count),
                             page_size or self.page_size)

    def snapshots_for(self, orders: Sequence[Order]) -> list[BookingSnapshot]:
        """Join orders with their room lines and customers: two requests for up to page_size orders, sent
        at the same time (each holds a lane of the shop's gate; neither depends on the other's answer)."""
        if not orders:
            return []
        lines: dict[int, list[RoomBooking]] = {o.id: [] for o in orders}
        with ThreadPoolExecutor(1, thread_name_prefix="qloapps-customers") as helper:
            asked = helper.submit(self.get_customers, {o.id_customer for o in orders})
            room_lines = self.get_room_bookings_for_orders(lines)  # raised after the customers' request ended
            customers = {c.id: c for c in asked.result()}
        for rb in room_lines:
            lines.setdefault(rb.id_order, []).append(rb)
        return [
            BookingSnapshot(o, tuple(sorted(lines[o.id], key=lambda rb: rb.id)), customers.get(o.id_customer))
            for o in orders
        ]

    # -- catalog -----------------------------------------------------------------------------------------

    def _list(self, resource: str, root: str, parse: Callable[[Mapping[str, Any]], T]) -> list[T]:
        query = [("display", "full"), ("sort", "[id_ASC]")]
        return self._json("GET", resource, query, parse=lambda d: payloads.parse_many(d, root, parse))

    def get_hotels(self) -> list[Hotel]:
        return self._list("hotels", "hotels", payloads.parse_hotel)

    def get_room_types(self) -> list[RoomType]:
        return self._list("room_types", "room_types", payloads.parse_room_type)

    def get_hotel_rooms(self) -> list[HotelRoom]:
        return self._list("hotel_rooms", "rooms", payloads.parse_hotel_room)

    def get_order_states(self) -> list[OrderState]:
        return self._list("order_states", "order_states", payloads.parse_order_state)

    def get_currency_codes(self) -> dict[int, str]:
        """id_currency → ISO code (orders carry only the id)."""
        query = [("display", "[id,iso_code]")]
        return self._json("GET", "currencies", query, parse=lambda d: {
            int(c["id"]): str(c["iso_code"]) for c in payloads.parse_many(d, "currencies", dict)})

    def latest_order_cursor(self) -> tuple[datetime, int] | None:
        """The newest (date_upd, id) of all orders, in one request: where a full pull leaves the cursor."""
        query = [("date", "1"), ("sort", "[date_upd_DESC,id_DESC]")]
        newest = self._orders_page(query, 0, 1)
        return newest[0].cursor if newest else None

    # -- availability and rates ----------------------------------------------------------------------

    def get_availability(self, id_hotel: int, date_from: date, date_to: date,
                         id_room_type: int | None = None, *, with_booked: bool = False) -> Availability:
        """POST /api/hotel_ari (XML body, JSON answer; a search, so safe to repeat). Prices include services (B39)."""
        body = bodies.hotel_ari_xml(id_hotel, date_from, date_to, id_room_type, with_booked=with_booked)
        return self._json("POST", "hotel_ari", body=body, content_type="text/xml", idempotent=True,
                          parse=payloads.parse_availability)

    def get_room_rates(self, id_hotel: int, date_from: date, date_to: date,
                       id_room_type: int | None = None) -> list[RoomRate]:
        """GET /api/qlo/getRoomRates in XML (its JSON is always ``[]``, B41); nights date_from..date_to-1."""
        query = [("id_hotel", str(int(id_hotel)))]
        if id_room_type is not None:
            query.append(("id_room_type", str(int(id_room_type))))
        query += [("date_from", date_from.isoformat()), ("date_to", date_to.isoformat())]
        return self._xml("GET", "qlo/getRoomRates", query, parse=payloads.parse_room_rates_xml)

    def create_feature_price(self, req: FeaturePriceRequest) -> FeaturePrice:
        """POST /api/feature_prices (XML, B43). Never use qlo/updRoomRateAvail instead (B42)."""
        return self._xml("POST", "feature_prices", body=bodies.feature_price_xml(req),
                         parse=payloads.parse_feature_price_xml)

    def update_feature_price(self, rule_id: int, req: FeaturePriceRequest) -> FeaturePrice:
        """PUT /api/feature_prices/{id} with the whole rule (XML; QloApps also resets its date_add, B37)."""
        return self._xml("PUT", f"feature_prices/{int(rule_id)}", body=bodies.feature_price_xml(req, rule_id),
                         parse=payloads.parse_feature_price_xml)

    def delete_feature_price(self, rule_id: int) -> None:
        """DELETE /api/feature_prices/{id}; a rule already gone (404) counts as deleted."""
        try:
            self._request("DELETE", f"feature_prices/{int(rule_id)}", idempotent=True)
        except QloAppsNotFound:
            return

    def get_feature_prices(self, id_product: int) -> list[FeaturePrice]:
        """Every feature price rule of one room type (one request)."""
        query = [("display", "full"), ("filter[id_product]", f"[{int(id_product)}]"), ("sort", "[id_ASC]")]
        return self._json("GET", "feature_prices", query,
                          parse=lambda d: payloads.parse_many(d, "feature_prices", payloads.parse_feature_price))
