"""Prometheus metrics of one process: QloApps requests, bookings applied, pushes, relayed outbox rows.

Workers, the relay and the scheduler serve them on ``QLOSYNC_METRICS_PORT`` (0, the default, serves
nothing). The cluster-wide numbers (runs, backlog, dead letters, heartbeats) come from PostgreSQL and
are served by the admin API's ``/metrics`` (:mod:`qlosync.ops.metrics`).

``prometheus_client`` is imported only when a metric is first touched: in a dramatiq worker the
multiprocess directory must be set before that import, which happens in ``after_process_boot``.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

from qlosync.errors import ConfigurationError
from qlosync.settings import Settings

logger = logging.getLogger(__name__)

# Seconds: the QloApps calls seen here take 10 ms (one booking) to 30 s (the read timeout).
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_DIR_PREFIX = "qlosync-metrics-"
_ID = re.compile(r"^\d+$")


@dataclass(frozen=True)
class _Metrics:
    requests: Any
    request_seconds: Any
    bookings: Any
    pushes: Any
    relayed: Any
    ticks: Any
    dropped_ticks: Any


_lock = threading.Lock()
_metrics: _Metrics | None = None


def _get() -> _Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                from prometheus_client import Counter, Histogram

                _metrics = _Metrics(
                    requests=Counter("qlosync_qloapps_requests_total", "QloApps webservice requests by outcome.",
                                     ["endpoint", "method", "outcome"]),
                    request_seconds=Histogram("qlosync_qloapps_request_seconds", "QloApps request latency.",
                                              ["endpoint", "method"], buckets=REQUEST_BUCKETS),
                    bookings=Counter("qlosync_bookings_applied_total",
                                     "QloApps bookings applied to the PMS by this process, by outcome.", ["outcome"]),
                    pushes=Counter("qlosync_pushes_total", "PMS changes pushed to QloApps by outcome.",
                                   ["kind", "outcome"]),
                    relayed=Counter("qlosync_outbox_relayed_total", "Outbox rows published to qloapps.outbound."),
                    ticks=Counter("qlosync_scheduler_ticks_total", "Periodic messages sent by the scheduler.",
                                  ["actor"]),
                    dropped_ticks=Counter("qlosync_scheduler_ticks_dropped_total",
                                          "Periodic messages a worker took too late (over 30 s old) and sent "
                                          "again as catch-ups.", ["actor"]),
                )
    return _metrics


def endpoint_of(path: str) -> str:
    """``bookings/17`` → ``bookings``: one label per resource, never per record (bounded cardinality)."""
    parts = [p for p in path.strip("/").split("/") if p and p != "api"]
    return "/".join(p if not _ID.match(p) else ":id" for p in parts[:2]) or "root"


def observe_request(path: str, method: str, outcome: str, seconds: float) -> None:
    metrics = _get()
    endpoint = endpoint_of(path)
    metrics.requests.labels(endpoint, method, outcome).inc()
    metrics.request_seconds.labels(endpoint, method).observe(seconds)


def count_bookings(outcome: str, amount: int = 1) -> None:
    if amount:
        _get().bookings.labels(outcome).inc(amount)


def count_push(kind: str, outcome: str) -> None:
    _get().pushes.labels(kind, outcome).inc()


def count_relayed(rows: int) -> None:
    if rows:
        _get().relayed.inc(rows)


def count_tick(actor: str) -> None:
    _get().ticks.labels(actor).inc()


def count_dropped_tick(actor: str) -> None:
    _get().dropped_ticks.labels(actor).inc()


# -- serving ---------------------------------------------------------------------------------------------


def worker_metrics_dir(main_pid: int | None = None) -> str:
    """The multiprocess directory shared by one ``dramatiq`` run: its worker processes and its metrics fork
    are all children of the same main process, so they agree on this name without talking."""
    return os.path.join(tempfile.gettempdir(), f"{_DIR_PREFIX}{main_pid or os.getppid()}")


def serve_process_metrics(settings: Settings) -> WSGIServer | None:
    """Serve this (single) process's metrics on QLOSYNC_METRICS_PORT from a daemon thread; None when off."""
    if not settings.metrics_port:
        return None
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port} "
                                 f"(QLOSYNC_METRICS_PORT): {exc.strerror or exc}") from None
    logger.info("Metrics on http://%s:%s/metrics", settings.metrics_host, settings.metrics_port,
                extra={"action": "metrics_serving"})
    return server


def serve_worker_metrics() -> int:
    """A dramatiq fork: serve the summed metrics of every worker process of this dramatiq run."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    settings = Settings.from_env()
    directory = worker_metrics_dir()
    os.makedirs(directory, exist_ok=True)
    _remove_dirs_of_dead_runs()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # prometheus_client: unannotated
    server, thread = start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    logger.info("Worker metrics on http://%s:%s/metrics", settings.metrics_host, settings.metrics_port)
    try:
        thread.join()
    finally:
        server.shutdown()
    return 0


def _remove_dirs_of_dead_runs() -> None:
    """Directories left by earlier dramatiq runs (their main process is gone) would only fill /tmp."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{_DIR_PREFIX}*")):
        pid = path.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
