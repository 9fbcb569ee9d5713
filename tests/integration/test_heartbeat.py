"""Heartbeats against the real PostgreSQL (and RabbitMQ for the middlewares): register, beat, count, stop,
survive an outage, forget old rows; the worker and scheduler middlewares."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import uuid
from typing import Any

import pytest
from periodiq import cron
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from qlosync.db.models import QlosyncProcess
from qlosync.errors import PermanentError
from qlosync.runtime.broker import build_broker, qlosync_actor
from qlosync.runtime.heartbeat import Heartbeat
from qlosync.runtime.middleware.heartbeat import running_under_periodiq, scheduler_heartbeat
from qlosync.settings import Settings
from tests.conftest import RUN_ID, copy_database_settings
from tests.runtime_support import in_process_worker, unique, wait_until  # noqa: F401  (fixture)

FAST = 0.2  # seconds between beats in these tests


def _row(engine: Engine, row_id: int | None) -> Any:
    if row_id is None:
        return None
    with engine.connect() as connection:
        return connection.execute(select(QlosyncProcess).where(QlosyncProcess.id == row_id)).one_or_none()


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(QlosyncProcess).order_by(QlosyncProcess.id)))


def _heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("qlosync-heartbeat") and t.is_alive()]


@pytest.fixture
def heartbeats() -> Any:
    """Makes heartbeats and stops whatever a failing test left running."""
    made: list[Heartbeat] = []

    def make(settings: Settings, **kwargs: Any) -> Heartbeat:
        made.append(Heartbeat(settings.with_(heartbeat_s=FAST), **kwargs))
        return made[-1]

    yield make
    for heartbeat in made:
        heartbeat.stop()


def test_registers_beats_counts_and_stops(heartbeats, settings, engine):
    # Given a started relay heartbeat
    heartbeat = heartbeats(settings, role="relay", queues=["qloapps.outbound"])
    heartbeat.start()
    # Then its row appears at once with who and what it is
    row = wait_until(lambda: _row(engine, heartbeat.row_id), what="the registration")
    assert (row.host, row.pid, row.role, row.queues, row.beat_interval_s, row.stopped_at) == (
        socket.gethostname(), os.getpid(), "relay", ["qloapps.outbound"], FAST, None)
    # and last_beat_at keeps moving
    first_beat = row.last_beat_at
    wait_until(lambda: _row(engine, heartbeat.row_id).last_beat_at > first_beat, timeout=5, what="a later beat")
    # When counters move (from several threads), the next beats carry them
    workers = [threading.Thread(target=lambda: [heartbeat.done() for _ in range(100)]) for _ in range(4)]
    for thread in workers:
        thread.start()
    heartbeat.failed(2)
    for thread in workers:
        thread.join()
    wait_until(lambda: (r := _row(engine, heartbeat.row_id)).messages_done == 400 and r.messages_failed == 2,
               timeout=5, what="the counts in the row")
    # When it stops, the row says so and no heartbeat thread is left
    heartbeat.done()
    heartbeat.stop()
    row = _row(engine, heartbeat.row_id)
    assert row.stopped_at is not None and row.stopped_at >= row.started_at
    assert (row.messages_done, row.messages_failed) == (401, 2)
    assert _heartbeat_threads() == []
    heartbeat.stop()  # a second stop is harmless


def test_an_unknown_role_is_refused(settings):
    with pytest.raises(PermanentError, match="unknown process role 'cron'"):
        Heartbeat(settings, role="cron")


def test_a_database_outage_is_logged_once_and_waited_out(heartbeats, pg_admin, template_db, secret_key, caplog):
    # Given a heartbeat whose database does not exist yet (as good as PostgreSQL being down)
    name = f"qlosync_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    url = make_url(pg_admin.url).set(database=name).render_as_string(hide_password=False)
    heartbeat = heartbeats(Settings(database_url=url, secret_key=secret_key), role="worker", queues=["qloapps.inbound"])
    caplog.set_level(logging.INFO, logger="qlosync.runtime.heartbeat")
    try:
        heartbeat.start()
        # When several beats fail, the process goes on and the failure is logged once
        wait_until(lambda: sum("cannot write to PostgreSQL" in r.message for r in caplog.records), timeout=10,
                   what="the outage warning")
        heartbeat.done(3)
        wait_until(lambda: heartbeat.consecutive_failures >= 4, timeout=15, what="more failing beats")
        assert sum("cannot write to PostgreSQL" in r.message for r in caplog.records) == 1
        assert heartbeat.row_id is None and _heartbeat_threads()
        # When the database comes back, the heartbeat registers by itself, counts included, and says so once
        with pg_admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
            copy_database_settings(connection, template_db, name)
        wait_until(lambda: heartbeat.row_id is not None, timeout=10, what="the registration after the outage")
        engine = create_engine(url)
        try:
            row = wait_until(lambda: _row(engine, heartbeat.row_id), what="the row")
            assert (row.role, row.messages_done) == ("worker", 3)
        finally:
            engine.dispose()
        assert sum("writing again" in r.message for r in caplog.records) == 1
        heartbeat.stop()
    finally:
        heartbeat.stop()
        with pg_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_forgotten_row_is_registered_again(heartbeats, settings, engine):
    heartbeat = heartbeats(settings, role="api")
    heartbeat.start()
    first = wait_until(lambda: heartbeat.row_id, what="the registration")
    # When someone deletes the row (it looked dead for a day)
    with engine.begin() as connection:
        connection.execute(QlosyncProcess.__table__.delete())
    # Then the next beat registers the process again
    second = wait_until(lambda: (r := heartbeat.row_id) != first and r, timeout=5, what="a new registration")
    assert _row(engine, second).role == "api"


def _old_row(engine: Engine, *, pid: int, role: str = "worker", queues: list[str] | None = None,
             stopped_days: float | None = None, silent_days: float = 0.0, interval_s: float = 10.0) -> int:
    with engine.begin() as connection:
        return connection.execute(insert(QlosyncProcess).values(
            host=socket.gethostname(), pid=pid, role=role, queues=queues or ["qloapps.inbound"],
            beat_interval_s=interval_s,
            started_at=text(f"now() - interval '{silent_days + 1} days'"),
            last_beat_at=text(f"now() - interval '{silent_days} days'"),
            stopped_at=text(f"now() - interval '{stopped_days} days'") if stopped_days is not None else None,
        ).returning(QlosyncProcess.id)).scalar_one()


def test_registration_forgets_old_rows_and_closes_the_rows_of_processes_it_replaces(heartbeats, settings, engine):
    gone = subprocess.Popen(["true"])  # noqa: S607
    gone.wait()  # reaped: its pid runs nothing any more
    gone_pid = gone.pid
    sleeper = subprocess.Popen(["sleep", "60"])  # noqa: S607
    try:
        # Given rows a day and more old, a recently stopped one, and silent ones on this host
        stopped_long_ago = _old_row(engine, pid=11, stopped_days=2)
        silent_long_ago = _old_row(engine, pid=12, silent_days=2)
        stopped_recently = _old_row(engine, pid=13, stopped_days=0.01)
        crashed = _old_row(engine, pid=gone_pid, silent_days=0.01)
        hung = _old_row(engine, pid=sleeper.pid, silent_days=0.01)
        other_queues = _old_row(engine, pid=gone_pid, queues=["qloapps.outbound"], silent_days=0.01)
        # When a worker on qloapps.inbound registers
        heartbeat = heartbeats(settings, role="worker", queues=["qloapps.inbound"])
        heartbeat.start()
        wait_until(lambda: heartbeat.row_id, what="the registration")
        rows = {row.id: row for row in _rows(engine)}
        # Then rows older than a day are gone, the recent stopped one stays
        assert stopped_long_ago not in rows and silent_long_ago not in rows and stopped_recently in rows
        # and the silent row of a gone process it replaces is closed at its last beat
        assert rows[crashed].stopped_at == rows[crashed].last_beat_at
        # but not a silent process that still runs (hung: a person must look), nor another kind of worker
        assert rows[hung].stopped_at is None and rows[other_queues].stopped_at is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_worker_middleware_counts_messages_and_marks_the_process_stopped(in_process_worker, engine):
    # Given a worker process with heartbeats every 0.2 s
    w = in_process_worker(settings_override={"heartbeat_s": FAST})

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def fine() -> None: ...

    @qlosync_actor(queue_name=w.queue, broker=w.broker, max_retries=0)
    def broken() -> None:
        raise PermanentError("no")

    w.start()
    (row,) = wait_until(lambda: _rows(engine), what="the worker's row")
    assert (row.role, row.pid, row.queues, row.beat_interval_s) == ("worker", os.getpid(), [w.queue], FAST)
    # When it handles two good messages and a bad one
    fine.send(), fine.send(), broken.send()
    wait_until(lambda: (r := _rows(engine)[0]).messages_done == 2 and r.messages_failed == 1, timeout=10,
               what="the counts")
    # Then a clean stop marks it stopped
    w.stop()
    (row,) = _rows(engine)
    assert row.stopped_at is not None and (row.messages_done, row.messages_failed) == (2, 1)


def test_the_scheduler_heartbeat_counts_the_ticks_it_sends(settings, engine, rabbitmq_vhost):
    # Importing the scheduler's module outside periodiq starts nothing
    import qlosync.schedule  # noqa: F401

    assert not running_under_periodiq()
    assert [t for t in _heartbeat_threads() if t.name.endswith("scheduler")] == []
    # Given a broker with a periodic actor, as `periodiq qlosync.schedule` has
    queue = unique("t.tick")
    broker = build_broker(settings.with_(rabbitmq_url=rabbitmq_vhost), work_queues=(queue,))
    try:
        @qlosync_actor(queue_name=queue, broker=broker, periodic=cron("* * * * *"))
        def tick() -> None: ...

        heartbeat = scheduler_heartbeat(broker, settings.with_(heartbeat_s=FAST))
        try:
            row = wait_until(lambda: _row(engine, heartbeat.row_id), what="the scheduler's row")
            assert (row.role, row.queues) == ("scheduler", [queue])
            # When it sends two ticks, they count as done
            tick.send(), tick.send()
            wait_until(lambda: _row(engine, heartbeat.row_id).messages_done == 2, timeout=5, what="two ticks counted")
        finally:
            heartbeat.stop()
    finally:
        broker.close()
