"""One simulated QloApps shop: its data, faults, request counters and request cost, and the answers to its
/api/ and /_sim/ requests. The HTTP server (server.py) routes requests to a shop by URL prefix."""

from __future__ import annotations

import collections
import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from .api import Api
from .faults import Fault, FaultInjector
from .store import Store
from .wire import ApiError, Response, empty, error_response, json_response, php_fatal


def counter_key(method: str, path: str) -> str:
    """"GET /api/orders" style key: resource level, no ids, no query."""
    parts = [p for p in path.split("/") if p]
    if len(parts) <= 1:
        return f"{method} /api/"
    return f"{method} /api/{parts[1]}"


# Keys of a request-cost spec that are not resources: the network's round trip added to every /api/
# request (ms), and how many /api/ requests the server works on at once (a real shop's PHP workers on its
# cores; unset: no limit). A request waiting for a worker has already paid its latency.
LATENCY_KEY = "latency"
WORKERS_KEY = "workers"

# A real QloApps 1.6.1 on a 2-core machine (measured 2026-12-03, issue 22), per page of 100: GET orders
# (display=full) 150-190 ms, room_bookings 115-150 ms, customers 90-117 ms; one GET bookings/{id} about 47 ms.
# The middle of each range; the server's 2 cores as 2 workers. Resources not measured there cost the default.
REAL_SHOP_COST = "default=50,orders=170,room_bookings=130,customers=105,bookings/id=47,workers=2"


def parse_request_cost(spec: str | float | dict[str, float] | None) -> dict[str, float]:
    """``"12"`` or ``"default=12,bookings/id=15,orders=11,latency=20,workers=2"`` -> {key: ms}; see
    :meth:`ShopSim.request_cost_for`, :data:`LATENCY_KEY` and :data:`WORKERS_KEY`."""
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
    if out.get(WORKERS_KEY, 1) < 1 or out.get(LATENCY_KEY, 0) < 0:
        raise ValueError(f"request cost {spec!r}: workers must be at least 1 and latency at least 0")
    return out


class ShopSim:
    """The state and behaviour of one QloApps website; paths it sees start at /api or /_sim (prefix removed)."""

    def __init__(self, name: str, api_key: str, stopping: threading.Event, base_url: str, seed_demo: bool = True,
                 request_cost_ms: str | float | dict[str, float] | None = None) -> None:
        self.name = name
        self.api_key = api_key
        # Minimum time an /api/ request takes, by resource, like a real server's (captures 320-324): a
        # request answered sooner sleeps the rest. Keys: "<resource>/id" (one record), "<resource>", "default".
        self._workers: tuple[int, threading.BoundedSemaphore] | None = None
        self.waiting = 0  # requests queued for one of the server's workers
        self.request_cost_ms = parse_request_cost(request_cost_ms)
        self.store = Store(seed_demo=seed_demo, base_url=base_url)
        # Shared with the server: stopping it wakes this shop's sleeping and held requests.
        self.faults = FaultInjector(stopping)
        self.request_counts: collections.Counter[str] = collections.Counter()
        self._count_lock = threading.Lock()
        self.api = Api(self.store, api_key)

    @property
    def base_url(self) -> str:
        """Shop URL as a client configures it (the webservice is under <base_url>/api/)."""
        return self.store.base_url

    @property
    def request_cost_ms(self) -> dict[str, float]:
        return self._request_cost_ms

    @request_cost_ms.setter
    def request_cost_ms(self, costs: dict[str, float]) -> None:
        self._request_cost_ms = costs
        workers = int(costs.get(WORKERS_KEY, 0))
        # A new limit gets a new semaphore; requests holding the old one finish under it.
        if workers and (self._workers is None or self._workers[0] != workers):
            self._workers = (workers, threading.BoundedSemaphore(workers))
        elif not workers:
            self._workers = None

    def request_cost_for(self, path: str) -> float:
        """Seconds the server spends on an /api/ request on *path* at least (0 when no cost is set); the
        network's latency comes on top."""
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

    def stats(self) -> dict[str, Any]:
        """{"requests": {counter key: n}, "held": n, "waiting": n} (the body of GET /_sim/stats): "waiting" are
        the requests queued for a server worker (cost model ``workers=N``)."""
        with self._count_lock:
            return {"requests": dict(self.request_counts), "held": self.faults.held, "waiting": self.waiting}

    # ------------------------------------------------------------------ request pipeline
    def dispatch(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
                 body: bytes) -> Response:
        """Answer one request whose path is relative to the shop (``/api/...`` or ``/_sim/...``)."""
        if path.startswith("/_sim/"):
            return self._control(method, path, body)
        if not (path == "/api" or path.startswith("/api/")):
            return empty(404)
        latency = self.request_cost_ms.get(LATENCY_KEY, 0.0) / 1000.0
        if latency:
            self.faults.sleep(latency)
        cost = self.request_cost_for(path)
        with self._server_worker():
            if not cost:
                return self._dispatch_api(method, path, params, headers, body)
            started = time.perf_counter()
            response = self._dispatch_api(method, path, params, headers, body)
            left = cost - (time.perf_counter() - started)
            if left > 0:
                self.faults.sleep(left)
            return response

    @contextlib.contextmanager
    def _server_worker(self) -> Iterator[None]:
        """Hold one of the server's workers (when the cost model limits them) while a request is served."""
        workers = self._workers
        if workers is None:
            yield
            return
        with self._count_lock:
            self.waiting += 1
        try:
            workers[1].acquire()
        finally:
            with self._count_lock:
                self.waiting -= 1
        try:
            yield
        finally:
            workers[1].release()

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

    def _apply_fault(self, fault: Fault, as_json: bool) -> Response | None:
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
                return json_response(self.stats())
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
