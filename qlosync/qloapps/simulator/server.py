"""HTTP plumbing: threaded loopback server, fault application, request counting, /_sim/ control."""

from __future__ import annotations

import collections
import json
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .api import Api
from .faults import FaultInjector
from .store import Store
from .wire import ApiError, Response, empty, error_response, json_response, php_fatal

BASE_HEADERS = {"PSWS-Version": "1.6.1.23", "X-Powered-By": "PrestaShop Webservice"}


def counter_key(method: str, path: str) -> str:
    """"GET /api/orders" style key: resource level, no ids, no query."""
    parts = [p for p in path.split("/") if p]
    if len(parts) <= 1:
        return f"{method} /api/"
    return f"{method} /api/{parts[1]}"


def parse_request_cost(spec: str | float | dict[str, float] | None) -> dict[str, float]:
    """``"12"`` or ``"default=12,bookings/id=15,orders=11"`` -> {key: ms}; see :meth:`Simulator.request_cost_for`."""
    if spec is None or spec == "":
        return {}
    if isinstance(spec, dict):
        return {str(k): float(v) for k, v in spec.items()}
    if isinstance(spec, (int, float)):
        return {"default": float(spec)}
    out: dict[str, float] = {}
    for part in str(spec).split(","):
        key, sep, value = part.strip().rpartition("=")
        if value.strip():
            out[key.strip() if sep else "default"] = float(value)
    return out


class Simulator:
    """A QloApps webservice double on loopback; see the package docstring for behaviour and gaps."""

    def __init__(self, api_key: str, host: str = "127.0.0.1", port: int = 0, seed_demo: bool = True,
                 request_cost_ms: str | float | dict[str, float] | None = None) -> None:
        self.api_key = api_key
        # Minimum time an /api/ request takes, by resource, like a real server's (captures 320-324): a
        # request answered sooner sleeps the rest. Keys: "<resource>/id" (one record), "<resource>", "default".
        self.request_cost_ms = parse_request_cost(request_cost_ms)
        self.host, self.port = host, port
        self.store = Store(seed_demo=seed_demo)
        self._stopping = threading.Event()
        self.faults = FaultInjector(self._stopping)
        self.request_counts: collections.Counter[str] = collections.Counter()
        self._count_lock = threading.Lock()
        self.api = Api(self.store, api_key)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Shop URL, e.g. http://127.0.0.1:8123 (the webservice is under /api/)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a background thread."""
        self._stopping.clear()
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.sim = self
        self.port = self._httpd.server_address[1]
        self.store.base_url = self.base_url
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"qloapps-sim-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; held and sleeping requests are woken up."""
        self._stopping.set()
        self.faults.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def request_cost_for(self, path: str) -> float:
        """Seconds an /api/ request on *path* should take at least (0 when no cost is set)."""
        costs = self.request_cost_ms
        if not costs:
            return 0.0
        parts = [p for p in path.split("/") if p]
        resource = parts[1] if len(parts) > 1 else ""
        keys = ([f"{resource}/id"] if len(parts) > 2 else []) + [resource, "default"]
        for key in keys:
            if key in costs:
                return costs[key] / 1000.0
        return 0.0

    def reset_counts(self) -> None:
        """Forget the request counters."""
        with self._count_lock:
            self.request_counts.clear()

    def __enter__(self) -> "Simulator":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ request pipeline
    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one HTTP request (already read)."""
        split = urlsplit(target)
        path = split.path
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        if path.startswith("/_sim/"):
            return self._control(method, path, body)
        if not (path == "/api" or path.startswith("/api/")):
            return empty(404)
        cost = self.request_cost_for(path)
        if cost:
            started = time.perf_counter()
            response = self._dispatch_api(method, path, params, headers, body)
            left = cost - (time.perf_counter() - started)
            if left > 0:
                self.faults.sleep(left)
            return response
        return self._dispatch_api(method, path, params, headers, body)

    def _dispatch_api(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
                      body: bytes) -> Response:
        with self._count_lock:
            self.request_counts[counter_key(method, path)] += 1
        as_json = params.get("output_format", "").upper() == "JSON"
        fault = self.faults.take(method, path)
        if fault is not None:
            early = self._apply_fault(fault, as_json)
            if early is not None:
                return early
        response = self.api.handle(method, path, params, headers, body)
        if fault is not None and fault.kind == "error_after_commit":
            return php_fatal(500)
        return response

    def _apply_fault(self, fault: Any, as_json: bool) -> Response | None:
        if fault.kind == "http_500":
            return php_fatal(500)
        if fault.kind == "fatal_html":
            return php_fatal(200, "Fatal error")
        if fault.kind == "unauthorized":
            return error_response(ApiError(401, (20, "Authentification key is not active"),
                                           (21, "No permission for this authentication key")), as_json)
        if fault.kind in ("timeout", "latency"):
            self.faults.sleep(fault.delay_s if fault.delay_s is not None else (30.0 if fault.kind == "timeout" else 1.0))
        elif fault.kind == "hold":
            self.faults.hold()
        return None

    def _control(self, method: str, path: str, body: bytes) -> Response:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return json_response({"error": "invalid JSON"}, 400)
        doc = doc if isinstance(doc, dict) else {}
        m = re.fullmatch(r"/_sim/bookings/(\d+)/(cancel|refund)", path)
        try:
            if method == "GET" and path == "/_sim/stats":
                with self._count_lock:
                    return json_response({"requests": dict(self.request_counts), "held": self.faults.held})
            if method == "GET" and path == "/_sim/clock":
                return json_response({"now": self.store.clock.now_str(), "frozen": self.store.clock.frozen})
            if method != "POST":
                return json_response({"error": "use POST"}, 405)
            if path == "/_sim/faults":
                self.faults.add(doc["kind"], doc.get("count", 1), doc.get("method"), doc.get("path"),
                                doc.get("delay_s"))
            elif path == "/_sim/faults/clear":
                self.faults.clear()
            elif path == "/_sim/release":
                self.faults.release()
            elif path == "/_sim/reset_counts":
                self.reset_counts()
            elif path == "/_sim/request_cost":
                self.request_cost_ms = parse_request_cost(doc.get("ms"))
                return json_response({"request_cost_ms": self.request_cost_ms})
            elif path == "/_sim/generate":
                ids = self.store.generate_bookings(int(doc.get("count", 1)), int(doc.get("seed", 0)))
                return json_response({"created": len(ids), "first_id": ids[0] if ids else None,
                                      "last_id": ids[-1] if ids else None})
            elif m:
                (self.store.cancel_booking if m.group(2) == "cancel" else self.store.refund_booking)(int(m.group(1)))
            elif path == "/_sim/clock":
                if "freeze" in doc:
                    self.store.clock.freeze(doc["freeze"])
                if "advance" in doc:
                    self.store.clock.advance(float(doc["advance"]))
                if doc.get("unfreeze"):
                    self.store.clock.unfreeze()
                return json_response({"now": self.store.clock.now_str()})
            else:
                return json_response({"error": f"unknown control endpoint {path}"}, 404)
        except (KeyError, ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
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
            response = self.server.sim.dispatch(self.command, self.path, headers, body)
        except Exception:  # an internal bug looks like a PHP fatal to the client
            response = php_fatal(500)
        try:
            self.send_response(response.status)
            if self.path.startswith("/api"):
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
          request_cost_ms: str | float | dict[str, float] | None = None) -> None:
    """Run a simulator in the foreground until SIGINT/SIGTERM (used by `qlosync simulator`)."""
    sim = Simulator(api_key=api_key, host=host, port=port, request_cost_ms=request_cost_ms)
    if bookings:
        sim.store.generate_bookings(bookings)
    done = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        done.set()

    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sim.start()
    print(f"QloApps simulator listening on {sim.base_url}/api/ ({bookings} generated bookings)", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
