"""Metrics scraped over HTTP during a pull move: the worker's own (QLOSYNC_METRICS_PORT) and the admin API's
(`/metrics`, read from PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bench.processes import free_port
from qlosync.db.models import QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.settings import Settings
from tests.api.conftest import serve
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)
from tests.subprocesses import start_process, stop_process

BIN = Path(sys.executable).parent
BOOKINGS = 1200
pytestmark = pytest.mark.slow


def _total(text: str, name: str, **labels: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_pull_counters_move_while_the_pull_runs(simulator, shop, mapped_catalog, session_factory,  # noqa: F811
                                                database_url, secret_key, fresh_vhost, tmp_path, pms_kind):
    simulator.store.generate_bookings(BOOKINGS, seed=11)
    # Slow each page's room lines so the pull lasts long enough to be watched.
    simulator.faults.add("latency", count=None, path="/api/room_bookings", delay_s=0.15)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
        "DATABASE_URL": database_url, "RABBITMQ_URL": fresh_vhost, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
        "QLOSYNC_PMS": pms_kind,
        "QLOSYNC_METRICS_PORT": str(port),
    }
    worker = start_process([str(BIN / "dramatiq"), "qlosync.actors", "--processes", "2", "--threads", "1"], env,
                    tmp_path / "worker.log")
    url = f"http://127.0.0.1:{port}/metrics"

    def scrape() -> str | None:
        try:
            return requests.get(url, timeout=2).text
        except requests.ConnectionError:
            return None

    def created_in_worker() -> float:
        body = scrape()
        assert body is not None, "the worker's metrics server went away"
        return _total(body, "qlosync_bookings_applied_total", outcome="created")

    api = serve(Settings.from_env(env))

    def created_in_api() -> float:
        answer = api.get("/metrics", token=False)  # no token needed: Prometheus scrapes it as is
        assert answer.status_code == 200, answer.text
        return _total(answer.text, "qlosync_sync_bookings_total", outcome="created")

    def run_status() -> str | None:
        with transaction(session_factory) as session:
            return session.scalar(select(QloAppsSyncState.status).order_by(QloAppsSyncState.id.desc()).limit(1))

    try:
        wait_until(lambda: scrape() is not None, timeout=30, interval=0.2, what="the worker's metrics endpoint")
        result = subprocess.run([str(BIN / "qlosync"), "sync", "--full"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr

        # During the pull, both expositions show part of the bookings, then more.
        first = wait_until(lambda: created_in_worker() or None, timeout=60, interval=0.1,
                           what="the first committed page in the worker's metrics")
        first_api = created_in_api()
        assert run_status() == "running"
        assert 0 < first < BOOKINGS and 0 < first_api < BOOKINGS
        wait_until(lambda: created_in_worker() > first, timeout=60, interval=0.1, what="the worker's counter to move")
        wait_until(lambda: created_in_api() > first_api, timeout=60, interval=0.1, what="the API's counter to move")

        wait_until(lambda: run_status() == "succeeded", timeout=120, interval=0.2, what="the pull to succeed")
        body = scrape()
        assert body is not None
        assert _total(body, "qlosync_bookings_applied_total", outcome="created") == BOOKINGS
        assert created_in_api() == BOOKINGS
        # dramatiq's own message metrics come from the same endpoint, and QloApps latency per resource.
        # dramatiq counts a message once its actor has returned, a moment after the run's row committed.
        wait_until(lambda: _total(scrape() or "", "dramatiq_messages_total", actor_name="pull_bookings") >= 1,
                   timeout=30, interval=0.1, what="dramatiq to count the pull's message")
        body = scrape()
        assert body is not None
        assert _total(body, "dramatiq_messages_total", actor_name="pull_bookings") == 1
        assert _total(body, "qlosync_qloapps_request_seconds_count", endpoint="room_bookings") >= BOOKINGS / 100  # a page holds up to 100
    finally:
        stop_process(worker)
        api.stop()
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
