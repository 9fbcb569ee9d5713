"""A worker thread of its own for the scheduler's ticks, so that a tick never waits for a busy worker.

dramatiq gives a worker process one pool of threads for every queue it consumes. A tick is first in that
pool (``schedule_tick`` has the lowest priority), but while every thread runs a pull, which is minutes for a
shop's first import, the tick waits until one ends: its slots start late, and after 30 s periodiq drops it
(``dropped_ticks`` catches it up, later still). With this middleware, a worker that consumes the tick queue
gets one more thread, fed by that queue's consumers only: the pool never sees a tick, and the tick's thread
never sees a pull. A tick takes milliseconds (it only enqueues slots), so one thread keeps up.

It uses dramatiq's own WorkerThread and its hooks: the consumer of the tick queue (and of its delay queue) is
pointed at the thread's own work queue when it boots, before it has taken any message.
"""

from __future__ import annotations

import logging
from queue import Empty, PriorityQueue
from typing import Any

from dramatiq.common import q_name
from dramatiq.middleware import Middleware
from dramatiq.worker import WorkerThread

from qlosync.runtime.queues import SCHEDULE

logger = logging.getLogger(__name__)

#: How long a worker's shutdown waits for a tick in progress (schedule_tick's time limit).
TICK_JOIN_TIMEOUT_S = 60.0


class TickThread(Middleware):
    """One worker thread per worker process for *queue_name* (qloapps.schedule) alone."""

    def __init__(self, queue_name: str = SCHEDULE) -> None:
        self.queue_name = queue_name
        self.work_queue: PriorityQueue[Any] = PriorityQueue()
        self.thread: WorkerThread | None = None

    def after_consumer_thread_boot(self, broker: Any, thread: Any) -> None:
        # Runs in the consumer's own thread, before its first message.
        if q_name(thread.queue_name) == self.queue_name:
            thread.work_queue = self.work_queue

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        # `dramatiq --queues` without the tick queue: no consumer, no thread.
        if self.queue_name not in worker.consumers or self.thread is not None:
            return
        self.thread = WorkerThread(broker=broker, consumers=worker.consumers, work_queue=self.work_queue,
                                   worker_timeout=worker.worker_timeout)
        self.thread.name = f"tick-thread({self.queue_name})"
        self.thread.start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        thread, self.thread = self.thread, None
        if thread is None:
            return
        thread.stop()
        thread.join(TICK_JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.warning("The tick thread did not end within %.0f s of the worker's shutdown.", TICK_JOIN_TIMEOUT_S,
                           extra={"action": "tick_thread_stuck"})
        # Ticks taken but not started go back with the worker's own: dramatiq's shutdown requeues what is left
        # in the worker's work queue (their consumers are still open at this point).
        while True:
            try:
                worker.work_queue.put(self.work_queue.get_nowait())
            except Empty:
                return
            self.work_queue.task_done()
