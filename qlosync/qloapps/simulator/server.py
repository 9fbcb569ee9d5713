"""HTTP plumbing: threaded loopback server routing requests to the default shop or a named one under
/shops/<name>/, plus the server-wide /_sim/shops control endpoints."""

from __future__ import annotations

import collections
import contextlib
import gc
import json
import re
import signal
import threading
import zlib
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .api import Api
from .faults import FaultInjector
from .shop import ShopSim, counter_key, parse_request_cost
from .store import Store
from .wire import Response, empty, json_response, php_fatal

BASE_HEADERS = {"PSWS-Version": "1.6.1.23", "X-Powered-By": "PrestaShop Webservice"}
SHOP_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SHOP_TARGET = re.compile(r"/shops/([^/]+)(/.*)?")

__all__ = ["BASE_HEADERS", "SHOP_NAME", "ShopSim", "Simulator", "counter_key", "numbered_names",
           "parse_request_cost", "serve"]


def numbered_names(count: int, prefix: str = "hotel-", start: int = 1) -> list[str]:
    """prefix + zero-padded index from *start* ("hotel-0001" ...); width 4 or more so names sort by number."""
    last = start + count - 1
    width = max(4, len(str(last)))
    return [f"{prefix}{i:0{width}d}" for i in range(start, last + 1)]


def shop_seed(name: str, seed: int) -> int:
    """Generator seed of a named shop: stable across processes (unlike hash()) and different per name."""
    return seed * 1_000_003 + zlib.crc32(name.encode("utf-8"))


def check_shop_name(name: str) -> str:
    """The name itself, or ValueError when it cannot be one URL path segment of the allowed alphabet."""
    if not isinstance(name, str) or not SHOP_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"invalid shop name {name!r}: expected 1-64 characters of A-Z a-z 0-9 _ . -")
    return name


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Bulk creation makes millions of long-lived objects, none of them garbage; the cyclic collector's
    repeated passes over the growing heap only cost time (about a tenth of building 1,000 shops)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Simulator:
    """A QloApps webservice double on loopback; see the package docstring for behaviour and gaps.

    The un-prefixed ``/api/`` and ``/_sim/`` belong to the default shop (``sim.store``, ``sim.faults``, ...);
    ``add_shops`` adds named shops served under ``/shops/<name>/api/`` and ``/shops/<name>/_sim/``.
    """

    def __init__(self, api_key: str, host: str = "127.0.0.1", port: int = 0, seed_demo: bool = True,
                 request_cost_ms: str | float | dict[str, float] | None = None) -> None:
        self.api_key = api_key
        self.host, self.port = host, port
        self._stopping = threading.Event()
        self.default_shop = ShopSim("", api_key, self._stopping, self.base_url, seed_demo=seed_demo,
                                    request_cost_ms=request_cost_ms)
        # Named shops start with the request cost given here (each can change its own at run time).
        self._shop_request_cost = parse_request_cost(request_cost_ms)
        self._shops: dict[str, ShopSim] = {}
        self._shops_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ the default shop's state
    @property
    def store(self) -> Store:
        return self.default_shop.store

    @property
    def faults(self) -> FaultInjector:
        return self.default_shop.faults

    @property
    def api(self) -> Api:
        return self.default_shop.api

    @property
    def request_counts(self) -> collections.Counter[str]:
        return self.default_shop.request_counts

    @property
    def request_cost_ms(self) -> dict[str, float]:
        return self.default_shop.request_cost_ms

    @request_cost_ms.setter
    def request_cost_ms(self, value: str | float | dict[str, float] | None) -> None:
        self.default_shop.request_cost_ms = parse_request_cost(value)

    def request_cost_for(self, path: str) -> float:
        """Seconds an /api/ request on *path* of the default shop should take at least."""
        return self.default_shop.request_cost_for(path)

    def reset_counts(self) -> None:
        """Forget the default shop's request counters."""
        self.default_shop.reset_counts()

    @property
    def base_url(self) -> str:
        """Shop URL, e.g. http://127.0.0.1:8123 (the webservice is under /api/)."""
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ named shops
    def add_shops(self, names: Iterable[str], bookings: int = 0, seed: int = 0) -> list[ShopSim]:
        """Create named shops (demo catalogue, *bookings* generated bookings each, seeded from the name).

        All share the simulator's API key. ValueError for an invalid or already used name (nothing is added).
        """
        wanted = [check_shop_name(name) for name in names]
        if len(set(wanted)) != len(wanted):
            raise ValueError("duplicate shop names")
        with self._shops_lock:
            taken = [name for name in wanted if name in self._shops]
        if taken:
            raise ValueError(f"shops already exist: {', '.join(taken[:5])}")
        # Built outside the lock: generating bookings for many shops takes seconds, and requests to the
        # shops that already exist must not wait for it.
        with _collector_paused():
            created = [ShopSim(name, self.api_key, self._stopping, self._shop_url(name),
                               request_cost_ms=dict(self._shop_request_cost)) for name in wanted]
            for shop in created:
                if bookings:
                    shop.store.generate_bookings(bookings, shop_seed(shop.name, seed))
        with self._shops_lock:
            taken = [shop.name for shop in created if shop.name in self._shops]
            if taken:
                raise ValueError(f"shops already exist: {', '.join(taken[:5])}")
            for shop in created:
                self._shops[shop.name] = shop
        return created

    def shop(self, name: str) -> ShopSim:
        """The named shop; KeyError when there is none."""
        with self._shops_lock:
            return self._shops[name]

    def shops(self) -> list[ShopSim]:
        """Every named shop, in creation order."""
        with self._shops_lock:
            return list(self._shops.values())

    def shop_stats(self) -> dict[str, dict[str, Any]]:
        """{name: {"requests": {...}, "held": n}} for every named shop."""
        return {shop.name: shop.stats() for shop in self.shops()}

    def reset_shop_counts(self) -> None:
        """Forget every named shop's request counters."""
        for shop in self.shops():
            shop.reset_counts()

    def _shop_url(self, name: str) -> str:
        return f"{self.base_url}/shops/{name}"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Bind and serve in a background thread."""
        self._stopping.clear()
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.sim = self
        self.port = self._httpd.server_address[1]
        # The port is known only now (port 0); links in XML answers carry it.
        self.store.base_url = self.base_url
        for shop in self.shops():
            shop.store.base_url = self._shop_url(shop.name)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"qloapps-sim-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; held and sleeping requests (of every shop) are woken up."""
        self._stopping.set()
        self.faults.release()
        for shop in self.shops():
            shop.faults.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "Simulator":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ request pipeline
    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one HTTP request (already read)."""
        return self.answer(method, target, headers, body)[0]

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[Response, bool]:
        """(response, whether a shop's webservice answered it, so it carries the PrestaShop headers)."""
        split = urlsplit(target)
        path = split.path
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        shop = self.default_shop
        match = _SHOP_TARGET.fullmatch(path)
        if match:
            with self._shops_lock:
                named = self._shops.get(match.group(1))
            if named is None:  # no such website: the web server's bare 404, not a webservice error
                return empty(404), False
            shop, path = named, match.group(2) or "/"
        elif path == "/_sim/shops" or path.startswith("/_sim/shops/"):
            return self._shops_control(method, path, body), False
        return shop.dispatch(method, path, params, headers, body), path.startswith("/api")

    def _shops_control(self, method: str, path: str, body: bytes) -> Response:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return json_response({"error": "invalid JSON"}, 400)
        doc = doc if isinstance(doc, dict) else {}
        if method == "GET" and path == "/_sim/shops/stats":
            return json_response(self.shop_stats())
        if method == "GET" and path == "/_sim/shops":
            return json_response({"shops": [shop.name for shop in self.shops()]})
        if method != "POST":
            return json_response({"error": "use POST"}, 405)
        if path == "/_sim/shops/reset_counts":
            self.reset_shop_counts()
            return json_response({"ok": True})
        if path != "/_sim/shops":
            return json_response({"error": f"unknown control endpoint {path}"}, 404)
        try:
            if "names" in doc:
                if not isinstance(doc["names"], list):
                    raise ValueError('"names" must be a list of shop names')
                names = doc["names"]
            else:
                names = numbered_names(int(doc["count"]), str(doc.get("prefix", "hotel-")), int(doc.get("start", 1)))
            shops = self.add_shops(names, bookings=int(doc.get("bookings", 0)), seed=int(doc.get("seed", 0)))
        except (KeyError, ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"created": [shop.name for shop in shops]})


def _looks_like_webservice(target: str) -> bool:
    path = urlsplit(target).path
    match = _SHOP_TARGET.fullmatch(path)
    return (match.group(2) or "").startswith("/api") if match else path.startswith("/api")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Many shops means many concurrent clients; the default backlog of 5 made connects time out.
    request_queue_size = 128
    sim: Simulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client's delayed ACK held the
    # body back ~40 ms on every request after the first, a stall a real QloApps (Apache) does not have.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence access log
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            response, webservice = self.server.sim.answer(self.command, self.path, headers, body)
        except Exception:  # an internal bug looks like a PHP fatal to the client
            response, webservice = php_fatal(500), _looks_like_webservice(self.path)
        try:
            self.send_response(response.status)
            if webservice:
                for key, value in BASE_HEADERS.items():
                    self.send_header(key, value)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve


def serve(port: int, api_key: str, bookings: int = 0, host: str = "127.0.0.1",
          request_cost_ms: str | float | dict[str, float] | None = None, shops: int = 0,
          shop_bookings: int = 0, shop_prefix: str = "hotel-") -> None:
    """Run a simulator in the foreground until SIGINT/SIGTERM (used by `qlosync simulator`).

    *bookings* go to the default shop; *shops* named shops get *shop_bookings* each.
    """
    sim = Simulator(api_key=api_key, host=host, port=port, request_cost_ms=request_cost_ms)
    if bookings:
        sim.store.generate_bookings(bookings)
    names = numbered_names(shops, shop_prefix) if shops else []
    if names:
        sim.add_shops(names, bookings=shop_bookings)
    # Everything built so far lives until exit: keep the cyclic collector from re-scanning it (a full
    # pass over 1,000 shops' data stalls every request for about a second).
    gc.collect()
    gc.freeze()
    done = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        done.set()

    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sim.start()
    print(f"QloApps simulator listening on {sim.base_url}/api/ ({bookings} generated bookings)", flush=True)
    if names:
        print(f"QloApps simulator serving {len(names)} shops at {sim.base_url}/shops/{names[0]} ... "
              f"/shops/{names[-1]} ({shop_bookings} generated bookings each)", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
