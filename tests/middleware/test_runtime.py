"""RuntimeMiddleware and qlosync.runtime.context: per-process resources built at worker boot, never at import."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from qlosync.runtime.broker import qlosync_actor
from qlosync.runtime.middleware.runtime import RuntimeBootError, RuntimeMiddleware
from qlosync.runtime.context import Runtime, RuntimeNotReadyError, current_runtime, use_runtime
from tests.runtime_support import create_event_tables, events, in_process_worker, wait_until  # noqa: F401


def test_no_runtime_outside_a_worker_and_tests_can_install_one(settings):
    with pytest.raises(RuntimeNotReadyError, match="dramatiq qlosync.actors"):
        current_runtime()
    runtime = Runtime.build(settings)
    try:
        with use_runtime(runtime):
            assert current_runtime() is runtime
            with current_runtime().transaction() as session:
                assert session.execute(text("SELECT 1")).scalar_one() == 1
        with pytest.raises(RuntimeNotReadyError):
            current_runtime()
    finally:
        runtime.close()


def test_the_worker_builds_the_runtime_at_boot_and_disposes_of_it_at_shutdown(in_process_worker, engine):
    # Given a worker that has not booted: nothing is built yet
    create_event_tables(engine)
    w = in_process_worker()
    runtime_middleware = next(m for m in w.broker.middleware if type(m).__name__ == "RuntimeMiddleware")
    assert runtime_middleware.runtime is None

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def uses_runtime() -> None:
        with current_runtime().transaction() as session:
            session.execute(text("INSERT INTO test_events (kind, job, pid) VALUES ('ran', 'x', pg_backend_pid())"))

    # When it boots and runs an actor, the actor reaches the database through the runtime
    w.start()
    built = runtime_middleware.runtime
    assert current_runtime() is built
    uses_runtime.send()
    wait_until(lambda: events(engine, "ran"), what="the actor's row")
    # When it shuts down, the runtime is gone and its pool is closed
    w.stop()
    assert runtime_middleware.runtime is None
    with pytest.raises(RuntimeNotReadyError):
        current_runtime()
    assert built.engine.pool.checkedout() == 0


def test_a_runtime_that_cannot_be_built_stops_the_worker_boot(in_process_worker):
    w = in_process_worker(settings_override={"database_url": "postgresql+nosuchdriver://x@127.0.0.1/db"})
    with pytest.raises(RuntimeBootError, match="cannot build the qlosync runtime"):
        w.start()


def test_qlosync_log_level_applies_inside_a_worker(settings):
    # dramatiq sets up a worker's logging itself; the boot still applies QLOSYNC_LOG_LEVEL to qlosync's loggers
    qlosync_logger = logging.getLogger("qlosync")
    previous = qlosync_logger.level
    middleware = RuntimeMiddleware(settings.with_(log_level="WARNING"), factory=Runtime.build)
    try:
        middleware.before_worker_boot(None, None)
        assert qlosync_logger.level == logging.WARNING
        assert not logging.getLogger("qlosync.sync.inbound.pull").isEnabledFor(logging.INFO)
    finally:
        middleware.after_worker_shutdown(None, None)
    # and puts the level back at shutdown (tests run workers inside the test process)
    assert qlosync_logger.level == previous
