"""The scheduler's ticks have a worker thread of their own (qlosync/runtime/middleware/tick_thread.py): a tick
runs while every thread of the worker's pool is busy, and a tick never takes a pool thread. On the real
RabbitMQ, per-test queue names, a dramatiq Worker in this process."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import dramatiq
import pytest

from qlosync.runtime.broker import build_broker, qlosync_actor
from qlosync.secrets import Secret
from qlosync.settings import Settings
from tests.runtime_support import InProcessWorker, queue_counts, unique, wait_until

HELD_S = 30.0  # how long a test's busy actor may be held: far longer than any wait below


@pytest.fixture
def worker(database_url: str, secret_key: Secret, rabbitmq_vhost: str) -> Iterator[InProcessWorker]:
    queue, tick_queue, dlq = unique("t.work"), unique("t.tick"), unique("t.dlq")
    settings = Settings(database_url=database_url, secret_key=secret_key, rabbitmq_url=rabbitmq_vhost)
    broker = build_broker(settings, work_queues=(queue, tick_queue), dead_letter_queue=dlq, tick_queue=tick_queue)
    built = InProcessWorker(broker=broker, queue=queue, dlq=dlq)
    built.actors["tick_queue"] = tick_queue
    yield built
    built.stop()


def _actors(worker: InProcessWorker, release: threading.Event) -> tuple[dramatiq.Actor, dramatiq.Actor,  # type: ignore[type-arg]
                                                                        list[str], list[str]]:
    busy_on: list[str] = []
    ticked_on: list[str] = []

    @qlosync_actor(queue_name=worker.queue, broker=worker.broker, actor_name="long_pull", max_retries=0)
    def long_pull() -> None:
        busy_on.append(threading.current_thread().name)
        assert release.wait(HELD_S), "the test never released the pull"

    @qlosync_actor(queue_name=worker.actors["tick_queue"], broker=worker.broker, actor_name="schedule_tick",
                   max_retries=0, priority=-1)
    def schedule_tick() -> None:
        ticked_on.append(threading.current_thread().name)

    return long_pull, schedule_tick, busy_on, ticked_on


def test_a_tick_runs_while_the_only_pool_thread_is_busy(worker: InProcessWorker, rabbitmq_vhost: str) -> None:
    release = threading.Event()
    long_pull, schedule_tick, busy_on, ticked_on = _actors(worker, release)
    try:
        # Given a worker with one pool thread, busy with a pull that does not end until the test says so
        worker.start()
        long_pull.send()
        wait_until(lambda: busy_on, what="the pull runs")

        # When two ticks arrive
        schedule_tick.send()
        schedule_tick.send()

        # Then both run while the pull still holds the pool's thread, on the tick's own thread
        wait_until(lambda: len(ticked_on) == 2, timeout=10, what="the ticks run beside the busy pull")
        assert not release.is_set() and len(busy_on) == 1
        assert set(ticked_on) == {f"tick-thread({worker.actors['tick_queue']})"}
        assert busy_on[0] not in ticked_on
    finally:
        release.set()
    assert queue_counts(rabbitmq_vhost, worker.actors["tick_queue"]) == (0, 1)  # none left, one consumer


def test_a_pull_never_takes_the_tick_thread(worker: InProcessWorker, rabbitmq_vhost: str) -> None:
    release = threading.Event()
    long_pull, schedule_tick, busy_on, ticked_on = _actors(worker, release)
    try:
        # Given the pool's one thread busy with a pull, and a second pull taken by the worker behind it
        worker.start()
        long_pull.send()
        wait_until(lambda: busy_on, what="the first pull runs")
        long_pull.send()
        wait_until(lambda: (queue_counts(rabbitmq_vhost, worker.queue) or (1, 0))[0] == 0,
                   what="the second pull delivered to the worker")
        # When a tick comes after it
        schedule_tick.send()
        # Then the tick runs and the second pull still waits for the pool: had the tick's thread taken the
        # pull, it would be held by it and the tick would not run
        wait_until(lambda: ticked_on, timeout=10, what="the tick runs")
        assert len(busy_on) == 1
    finally:
        release.set()
    wait_until(lambda: len(busy_on) == 2, what="the second pull runs once the first ends")
    assert all(not name.startswith("tick-thread") for name in busy_on)


def test_a_worker_not_consuming_the_tick_queue_starts_no_tick_thread(worker: InProcessWorker) -> None:
    # `dramatiq qlosync.actors --queues qloapps.inbound`: no tick consumer, so no thread for it.
    worker.broker.emit_after("process_boot")
    worker.worker = dramatiq.Worker(worker.broker, queues={worker.queue}, worker_timeout=20, worker_threads=1)
    worker.worker.start()
    assert worker.actors["tick_queue"] not in worker.worker.consumers
    assert not [t for t in threading.enumerate() if t.name.startswith("tick-thread")]


def test_a_tick_taken_but_not_run_at_shutdown_is_not_lost(worker: InProcessWorker, rabbitmq_vhost: str) -> None:
    release = threading.Event()
    ran: list[int] = []

    @qlosync_actor(queue_name=worker.actors["tick_queue"], broker=worker.broker, actor_name="slow_tick",
                   max_retries=0)
    def slow_tick(n: int) -> None:
        ran.append(n)
        if n == 1:
            assert release.wait(HELD_S), "the test never released the tick"

    # Given the tick thread busy with one tick and a second taken from RabbitMQ behind it
    worker.start()
    slow_tick.send(1)
    wait_until(lambda: ran == [1], what="the first tick runs")
    slow_tick.send(2)
    wait_until(lambda: queue_counts(rabbitmq_vhost, worker.actors["tick_queue"]) == (0, 1),
               what="the second tick delivered to the worker (none ready, the worker consuming)")

    # When the worker shuts down, the first tick ending meanwhile
    assert worker.worker is not None
    stopping = threading.Thread(target=worker.worker.stop, kwargs={"timeout": 20_000})
    stopping.start()
    release.set()
    stopping.join(30)
    assert not stopping.is_alive()
    worker.worker = None

    # Then the second tick either ran or is back in its queue (the worker's consumers closed): never both,
    # never neither
    messages = queue_counts(rabbitmq_vhost, worker.actors["tick_queue"])
    assert messages in {(0, 0), (1, 0)}, messages
    assert ran.count(2) == (1 if messages == (0, 0) else 0), (ran, messages)
