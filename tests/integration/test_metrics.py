"""Metrics: the API's database-backed exposition and the per-process QloApps request metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from qlosync.db.session import transaction
from qlosync.ops.metrics import render
from qlosync.runtime.metrics import endpoint_of
from tests.pms_desk import desk_for
from tests.sync_fixtures import client, shop  # noqa: F401  (fixtures)


def _samples(engine: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = render(engine)
    assert content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def test_empty_database_exposes_zeros_not_errors(engine) -> None:  # type: ignore[no-untyped-def]
    samples = _samples(engine)
    assert samples[("qlosync_outbox_unsent", ())] == 0
    assert samples[("qlosync_dead_letters", (("status", "dead"),))] == 0
    assert samples[("qlosync_processes", (("role", "worker"), ("state", "alive")))] == 0


def test_runs_bookings_backlog_and_heartbeats_come_from_the_database(engine, session_factory, shop) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with transaction(session_factory) as session:
        session.execute(text(
            "INSERT INTO qloapps_sync_state (config_id, kind, trigger, status, seen, created, updated, unchanged,"
            " failed, parked, requests) VALUES (:c, 'full', 'manual', 'succeeded', 12, 7, 2, 3, 0, 0, 5),"
            " (:c, 'incremental', 'schedule', 'failed', 4, 1, 0, 0, 3, 0, 2)"), {"c": shop.id})
        session.execute(text(
            "INSERT INTO qlosync_processes (host, pid, role, queues, beat_interval_s, messages_done, last_beat_at)"
            " VALUES ('h', 1, 'worker', '{qloapps.inbound}', 10, 40, now()),"
            "        ('h', 2, 'worker', '{qloapps.outbound}', 10, 2, now() - interval '1 minute')"))
    desk_for(engine).unsent_change(age_s=90)  # a change the PMS captured and no relay sent yet
    samples = _samples(engine)
    label = (("shop", shop.name),)
    assert samples[("qlosync_sync_runs_total", (("kind", "full"), *label, ("status", "succeeded")))] == 1
    assert samples[("qlosync_sync_runs_total", (("kind", "incremental"), *label, ("status", "failed")))] == 1
    assert samples[("qlosync_sync_bookings_total", (("outcome", "created"), *label))] == 8
    assert samples[("qlosync_sync_bookings_total", (("outcome", "failed"), *label))] == 3
    assert samples[("qlosync_sync_qloapps_requests_total", label)] == 7
    assert samples[("qlosync_outbox_unsent", ())] == 1
    assert samples[("qlosync_outbox_lag_seconds", ())] >= 89
    assert samples[("qlosync_processes", (("role", "worker"), ("state", "alive")))] == 1
    assert samples[("qlosync_processes", (("role", "worker"), ("state", "stale")))] == 1
    assert samples[("qlosync_process_messages_total", (("result", "done"), ("role", "worker")))] == 42
    # Never synced successfully: no "seconds since" sample rather than a made-up one
    assert ("qlosync_seconds_since_last_successful_sync", label) not in samples


def test_every_qloapps_request_is_counted_by_resource_and_outcome(client) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    def count(outcome: str, endpoint: str = "orders") -> float:
        return REGISTRY.get_sample_value("qlosync_qloapps_requests_total",
                                         {"endpoint": endpoint, "method": "GET", "outcome": outcome}) or 0.0

    def timed() -> float:
        return REGISTRY.get_sample_value("qlosync_qloapps_request_seconds_count",
                                         {"endpoint": "orders", "method": "GET"}) or 0.0

    before_ok, before_missing, before_timed = count("2xx"), count("4xx", "orders/:id"), timed()
    client.get_orders([1, 2])
    try:
        client.get_order(987654)
    except Exception:  # noqa: BLE001  (the 404 is the point)
        pass
    assert count("2xx") == before_ok + 1
    assert count("4xx", "orders/:id") == before_missing + 1
    assert timed() == before_timed + 1


def test_endpoint_labels_never_carry_record_ids() -> None:
    assert endpoint_of("/api/bookings/17") == "bookings/:id"
    assert endpoint_of("orders") == "orders"
    assert endpoint_of("/api/") == "root"


def test_overdue_is_the_status_rule_per_shop(engine, session_factory, shop) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from qlosync.ops.overdue import overdue_after_s

    interval_ms = 60_000
    label = (("shop", shop.name),)
    with transaction(session_factory) as session:
        session.execute(text("UPDATE qloapps_config SET sync_enabled = true WHERE id = :c"), {"c": shop.id})
        session.execute(text("INSERT INTO qloapps_sync_cursor (config_id, last_successful_sync) "
                             "VALUES (:c, now() - make_interval(secs => :s))"),
                        {"c": shop.id, "s": overdue_after_s(interval_ms) - 30})
    body, _ = render(engine, sync_interval_ms=interval_ms)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert samples[("qlosync_sync_overdue", label)] == 0
    with transaction(session_factory) as session:
        session.execute(text("UPDATE qloapps_sync_cursor SET last_successful_sync = now() - interval '1 hour'"))
    body, _ = render(engine, sync_interval_ms=interval_ms)
    assert "qlosync_sync_overdue{shop=\"%s\"} 1.0" % shop.name in body.decode()
