"""A periodic message that periodiq drops as too old (a worker took it over 30 s after the scheduler sent it)
is logged, counted and sent again as a catch-up (schedule_tick with the minute it stands for), and is not
dead-lettered (qlosync/runtime/middleware/dropped_ticks.py). On the real RabbitMQ, per-test queue names."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import pytest
from periodiq import cron
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from qlosync.db.models import QloAppsDeadLetter
from qlosync.db.session import make_engine, make_sessionmaker
from qlosync.runtime.broker import qlosync_actor
from qlosync.runtime.middleware.dropped_ticks import MINUTE_KWARG
from qlosync.secrets import Secret
from qlosync.settings import Settings
from tests.runtime_support import InProcessWorker, queue_counts, wait_until


@pytest.fixture
def worker(database_url: str, secret_key: Secret, rabbitmq_vhost: str) -> Iterator[InProcessWorker]:
    # Not the `settings` fixture (one run per PMS adapter): the broker knows no PMS.
    built = InProcessWorker.build(Settings(database_url=database_url, secret_key=secret_key,
                                           rabbitmq_url=rabbitmq_vhost))
    yield built
    built.stop()


def _dropped(actor: str) -> float:
    return REGISTRY.get_sample_value("qlosync_scheduler_ticks_dropped_total", {"actor": actor}) or 0.0


def _as_periodiq_sends(at: datetime) -> str:
    """``scheduled_at`` as periodiq's scheduler writes it (str of a pendulum datetime)."""
    return str(pendulum.instance(at))


def test_a_tick_dropped_as_too_old_is_sent_again_for_its_minute_and_not_dead_lettered(
        worker: InProcessWorker, database_url: str, rabbitmq_vhost: str, caplog: pytest.LogCaptureFixture) -> None:
    ran: list[Any] = []

    @qlosync_actor(queue_name=worker.queue, broker=worker.broker, actor_name="schedule_tick", max_retries=0,
                   periodic=cron("* * * * *"))
    def schedule_tick(interval_ms: int | None = None, minute: str | None = None) -> None:
        ran.append(("tick", interval_ms, minute))

    @qlosync_actor(queue_name=worker.queue, broker=worker.broker, actor_name="daily_job", max_retries=0,
                   periodic=cron("15 3 * * *"))
    def daily_job() -> None:
        ran.append(("daily",))

    before = {actor: _dropped(actor) for actor in ("schedule_tick", "daily_job")}
    stale_minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    # Given a tick two minutes old, a daily job as old, and a tick sent just now
    stale = schedule_tick.send_with_options(kwargs={"interval_ms": 60_000},
                                            scheduled_at=_as_periodiq_sends(stale_minute))
    daily_job.send_with_options(scheduled_at=_as_periodiq_sends(stale_minute))
    schedule_tick.send_with_options(kwargs={"interval_ms": 60_000},
                                    scheduled_at=_as_periodiq_sends(datetime.now(UTC).replace(microsecond=0)))

    # When a worker takes them
    with caplog.at_level(logging.WARNING, logger="qlosync.runtime.middleware.dropped_ticks"):
        worker.start()
        wait_until(lambda: len(ran) == 3 and queue_counts(rabbitmq_vhost, worker.queue) == (0, 1), timeout=30,
                   what="the fresh tick and both catch-ups run, the queue empty")

    # Then the fresh tick ran as it came, the stale one once as a catch-up naming its minute, the daily job again
    assert sorted(ran, key=str) == sorted([("tick", 60_000, None), ("tick", 60_000, stale_minute.isoformat()),
                                           ("daily",)], key=str)
    assert MINUTE_KWARG == "minute"
    # and nothing was dead-lettered
    assert queue_counts(rabbitmq_vhost, worker.dlq) == (0, 0)
    engine = make_engine(Settings(database_url=database_url))
    try:
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(QloAppsDeadLetter)) == 0
    finally:
        engine.dispose()
    # and each drop was logged as a warning and counted
    dropped = [r for r in caplog.records if getattr(r, "action", None) == "tick_dropped"]
    assert {r.message_id for r in dropped} >= {stale.message_id}  # type: ignore[attr-defined]
    assert {r.actor for r in dropped} == {"schedule_tick", "daily_job"}  # type: ignore[attr-defined]
    assert _dropped("schedule_tick") == before["schedule_tick"] + 1
    assert _dropped("daily_job") == before["daily_job"] + 1
