"""The admin API's ``/metrics``: cluster-wide numbers read from PostgreSQL at scrape time.

Whatever host or process did the work, these agree: runs and bookings counted from
``qloapps_sync_state``, the outbox backlog, dead letters, conflicts, and processes alive or stale by
their heartbeats. Per-process numbers (QloApps latency, messages) are served by each worker, relay and
scheduler on QLOSYNC_METRICS_PORT (:mod:`qlosync.runtime.metrics`); this process's own are added here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

from qlosync.db.session import make_sessionmaker, transaction
from qlosync.ops.overdue import is_overdue
from qlosync.runtime.heartbeat import STALE_AFTER_BEATS
from qlosync.settings import DEFAULT_SYNC_INTERVAL_MS
from qlosync.pms import open_pms
from qlosync.states import DeadLetterStatus

BOOKING_OUTCOMES = ("created", "updated", "unchanged", "failed", "parked")

_RUNS = """
SELECT c.name, s.kind, s.status, count(*), coalesce(sum(s.requests), 0),
       {sums}
FROM qloapps_sync_state s JOIN qloapps_config c ON c.id = s.config_id
GROUP BY c.name, s.kind, s.status
""".format(sums=", ".join(f"coalesce(sum(s.{o}), 0)" for o in BOOKING_OUTCOMES))

_SHOPS = """
SELECT c.name, c.sync_enabled, extract(epoch FROM k.last_successful_sync),
       extract(epoch FROM now() - k.last_successful_sync),
       (SELECT count(*) FROM qloapps_conflicts x WHERE x.config_id = c.id AND x.status = 'open'),
       (SELECT count(*) FROM qloapps_reservation_mappings m WHERE m.config_id = c.id AND m.parked_reason IS NOT NULL),
       (SELECT count(*) FROM qloapps_reservation_mappings m WHERE m.config_id = c.id AND m.push_error IS NOT NULL),
       extract(epoch FROM now() - c.created_at)
FROM qloapps_config c LEFT JOIN qloapps_sync_cursor k ON k.config_id = c.id
"""

_DEAD = "SELECT status, count(*) FROM qloapps_dead_letters GROUP BY status"

_PROCESSES = """
SELECT role, CASE WHEN stopped_at IS NOT NULL THEN 'stopped'
                  WHEN last_beat_at >= now() - make_interval(secs => {stale_after} * beat_interval_s) THEN 'alive'
                  ELSE 'stale' END AS state,
       count(*), coalesce(sum(messages_done), 0), coalesce(sum(messages_failed), 0)
FROM qlosync_processes GROUP BY 1, 2
""".format(stale_after=STALE_AFTER_BEATS)


class DatabaseCollector(Collector):
    """Reads the numbers at every scrape (a handful of aggregate queries; no state kept here)."""

    def __init__(self, engine: Engine, sync_interval_ms: int = DEFAULT_SYNC_INTERVAL_MS) -> None:
        self._sessions = make_sessionmaker(engine)
        self._sync_interval_ms = sync_interval_ms

    def collect(self) -> Iterator[Any]:
        with transaction(self._sessions) as session:
            def rows(sql: str) -> list[Any]:
                return list(session.execute(text(sql)))

            runs = CounterMetricFamily("qlosync_sync_runs", "Pull runs by shop, kind and status.",
                                       labels=["shop", "kind", "status"])
            bookings = CounterMetricFamily("qlosync_sync_bookings", "Bookings handled by pull runs, by outcome.",
                                           labels=["shop", "outcome"])
            requests = CounterMetricFamily("qlosync_sync_qloapps_requests", "QloApps requests made by pull runs.",
                                           labels=["shop"])
            per_shop: dict[str, list[float]] = {}
            per_shop_requests: dict[str, float] = {}
            for shop, kind, status, count, reqs, *sums in rows(_RUNS):
                runs.add_metric([shop, kind, status], count)
                per_shop_requests[shop] = per_shop_requests.get(shop, 0) + float(reqs)
                totals = per_shop.setdefault(shop, [0.0] * len(BOOKING_OUTCOMES))
                for i, value in enumerate(sums):
                    totals[i] += float(value)
            for shop, totals in per_shop.items():
                for outcome, value in zip(BOOKING_OUTCOMES, totals, strict=True):
                    bookings.add_metric([shop, outcome], value)
            for shop, value in per_shop_requests.items():
                requests.add_metric([shop], value)
            yield from (runs, bookings, requests)

            last = GaugeMetricFamily("qlosync_last_successful_sync_timestamp_seconds",
                                     "When the last pull of the shop succeeded (Unix time).", labels=["shop"])
            since = GaugeMetricFamily("qlosync_seconds_since_last_successful_sync",
                                      "Seconds since the last successful pull (absent: never).", labels=["shop"])
            enabled = GaugeMetricFamily("qlosync_sync_enabled", "1 when sync is on for the shop.", labels=["shop"])
            conflicts = GaugeMetricFamily("qlosync_open_conflicts", "Open conflicts awaiting a decision.",
                                          labels=["shop"])
            parked = GaugeMetricFamily("qlosync_bookings_parked", "Bookings waiting for a room-type mapping.",
                                       labels=["shop"])
            refused = GaugeMetricFamily("qlosync_pushes_refused", "PMS reservations whose last push was refused.",
                                        labels=["shop"])
            overdue = GaugeMetricFamily("qlosync_sync_overdue", "1 when sync is on and overdue (the status rule).",
                                        labels=["shop"])
            for shop, is_enabled, last_at, age, n_conflicts, n_parked, n_refused, configured_ago in rows(_SHOPS):
                enabled.add_metric([shop], 1 if is_enabled else 0)
                late = is_enabled and is_overdue(None if age is None else float(age), float(configured_ago),
                                                 self._sync_interval_ms)
                overdue.add_metric([shop], 1 if late else 0)
                if last_at is not None:
                    last.add_metric([shop], float(last_at))
                    since.add_metric([shop], float(age))
                conflicts.add_metric([shop], n_conflicts)
                parked.add_metric([shop], n_parked)
                refused.add_metric([shop], n_refused)
            yield from (last, since, enabled, conflicts, parked, refused, overdue)

            outbox = open_pms(session).changes.backlog()
            yield GaugeMetricFamily("qlosync_outbox_unsent", "PMS changes not yet relayed.", value=outbox.unsent)
            yield GaugeMetricFamily("qlosync_outbox_lag_seconds", "Age of the oldest unsent PMS change.",
                                    value=outbox.lag_seconds)

            dead = GaugeMetricFamily("qlosync_dead_letters", "Dead-letter records by status (dead = in qloapps.dlq).",
                                     labels=["status"])
            counts = dict(rows(_DEAD))
            for status in DeadLetterStatus:
                dead.add_metric([status], counts.get(status, 0))
            yield dead

            processes = GaugeMetricFamily("qlosync_processes", "qlosync processes by role and heartbeat state.",
                                          labels=["role", "state"])
            done = CounterMetricFamily("qlosync_process_messages", "Messages handled, summed over known processes.",
                                       labels=["role", "result"])
            seen: dict[tuple[str, str], int] = {(role, state): 0 for role in ("worker", "relay", "scheduler", "api")
                                                for state in ("alive", "stale")}
            totals_by_role: dict[str, list[float]] = {}
            for role, state, count, n_done, n_failed in rows(_PROCESSES):
                seen[(role, state)] = count
                sums_ = totals_by_role.setdefault(role, [0.0, 0.0])
                sums_[0] += float(n_done)
                sums_[1] += float(n_failed)
            for (role, state), count in sorted(seen.items()):
                processes.add_metric([role, state], count)
            for role, (n_done, n_failed) in sorted(totals_by_role.items()):
                done.add_metric([role, "done"], n_done)
                done.add_metric([role, "failed"], n_failed)
            yield from (processes, done)


def render(engine: Engine, *, sync_interval_ms: int = DEFAULT_SYNC_INTERVAL_MS) -> tuple[bytes, str]:
    """The Prometheus text exposition: the database's numbers plus this process's own metrics."""
    from prometheus_client import CONTENT_TYPE_LATEST

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, sync_interval_ms))
    return generate_latest(registry) + generate_latest(REGISTRY), CONTENT_TYPE_LATEST
