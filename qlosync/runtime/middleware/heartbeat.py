"""Heartbeats of dramatiq worker processes and of the periodiq scheduler (see :mod:`qlosync.runtime.heartbeat`)."""

from __future__ import annotations

import atexit
import os
import signal
import sys
from collections.abc import Iterable
from types import FrameType
from typing import Any

from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from qlosync.runtime import metrics
from qlosync.runtime.heartbeat import Heartbeat
from qlosync.runtime.metrics import serve_process_metrics
from qlosync.settings import Settings


class WorkerHeartbeat(Middleware):
    """One heartbeat per worker process (each process dramatiq forks boots its own), counting messages.

    It starts in ``after_worker_boot``, once the consumers run, so "alive" means "consuming". It stops
    in ``after_worker_shutdown``, not before: during a graceful stop the running actors finish (up to
    ``--worker-shutdown-timeout``), and until then the process is working, so it keeps beating and its
    final counts include those messages.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.heartbeat: Heartbeat | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        self.heartbeat = Heartbeat(self.settings, role="worker", queues=consumed_queues(broker, worker))
        self.heartbeat.start()

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        if self.heartbeat is not None:
            # An attempt that raised counts as failed even if it will be retried: it shows a struggling worker.
            if exception is None:
                self.heartbeat.done()
            else:
                self.heartbeat.failed()

    def after_skip_message(self, broker: Any, message: Any) -> None:
        # qlosync dead-letters skipped messages (DeadLetterMiddleware): they were not done.
        if self.heartbeat is not None:
            self.heartbeat.failed()

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        heartbeat, self.heartbeat = self.heartbeat, None
        if heartbeat is not None:
            heartbeat.stop()


def consumed_queues(broker: Any, worker: Any) -> list[str]:
    """The work queues this worker consumes: ``dramatiq --queues`` (the whitelist) or every declared one."""
    # `dramatiq --queues` lands in Worker.consumer_whitelist (dramatiq 2.x, pinned below 3).
    whitelist = getattr(worker, "consumer_whitelist", None)
    return sorted({q_name(q) for q in broker.get_declared_queues() if not whitelist or q_name(q) in whitelist})


class SchedulerTicks(Middleware):
    """Counts, as done (and in ``qlosync_scheduler_ticks_total``), every message the scheduler enqueues."""

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat

    def after_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        self.heartbeat.done()
        metrics.count_tick(message.actor_name)


def running_under_periodiq() -> bool:
    """True in a process started as ``periodiq ...`` (or ``python -m periodiq ...``)."""
    main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    started_as = os.path.basename(sys.argv[0]) if sys.argv else ""
    return started_as == "periodiq" or getattr(main_spec, "name", None) == "periodiq"


def scheduler_heartbeat(broker: Any, settings: Settings) -> Heartbeat:
    """A started scheduler heartbeat that counts every message *broker* enqueues from now on as done."""
    periodic = [actor for actor in broker.actors.values() if "periodic" in actor.options]
    heartbeat = Heartbeat(settings, role="scheduler", queues=_queues_of(periodic))
    broker.add_middleware(SchedulerTicks(heartbeat))
    heartbeat.start()
    return heartbeat


def beat_as_scheduler(broker: Any, settings: Settings | None = None) -> Heartbeat:
    """In the periodiq process: start its heartbeat, and mark it stopped when the process exits.

    periodiq installs no SIGTERM handler, so SIGTERM would end the process at once, without the final
    beat, and every ``docker stop`` would leave a stale row. Here SIGTERM raises ``SystemExit(0)``: the
    process exits normally, running the exit handler that marks the row stopped. A tick being sent at
    that moment is lost, which is harmless: the next minute's tick covers its slots.
    """
    settings = settings or Settings.from_env()
    heartbeat = scheduler_heartbeat(broker, settings)
    atexit.register(heartbeat.stop)
    serve_process_metrics(settings)
    signal.signal(signal.SIGTERM, _exit_normally)
    return heartbeat


def _queues_of(actors: Iterable[Any]) -> list[str]:
    return sorted({actor.queue_name for actor in actors})


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
