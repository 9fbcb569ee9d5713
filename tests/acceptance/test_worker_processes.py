"""`dramatiq` worker processes against the real RabbitMQ and Postgres: crashes, shutdowns, load sharing.

Each test has a vhost of its own (qlosync's real queue names) and starts workers as process groups it
owns; teardown SIGKILLs whatever is left of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from dramatiq.message import Message

from qlosync.runtime.broker import build_broker
from qlosync.runtime.queues import DLQ, INBOUND, OUTBOUND, delay_queue
from qlosync.settings import Settings
from tests.runtime_support import create_event_tables, events, fresh_vhost, queue_counts, set_flag, wait_until  # noqa: F401

DRAMATIQ = str(Path(sys.executable).with_name("dramatiq"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn_worker(database_url, fresh_vhost, tmp_path):
    """Starts `dramatiq MODULE --processes 1 --threads 1 ...` in its own process group."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def spawn(*args: str, module: str = "tests.acceptance.worker_app") -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DATABASE_URL", "RABBITMQ_URL"))}
        env.update(DATABASE_URL=database_url, RABBITMQ_URL=fresh_vhost)
        log = tmp_path / f"worker-{len(started)}.log"
        process = subprocess.Popen(
            [DRAMATIQ, module, "--processes", "1", "--threads", "1", *args],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        process.log_path = log  # type: ignore[attr-defined]
        started.append((process, log))
        return process

    yield spawn
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def send(database_url, fresh_vhost):
    """Enqueue a message for a worker_app actor, through qlosync's broker (publisher confirms on)."""
    broker = build_broker(Settings(database_url=database_url, rabbitmq_url=fresh_vhost))

    def enqueue(actor_name: str, *args: object) -> Message:
        return broker.enqueue(Message(queue_name=INBOUND, actor_name=actor_name, args=args, kwargs={}, options={}))

    yield enqueue
    broker.close()


def _consumers(amqp_url: str, queue_name: str) -> int:
    counts = queue_counts(amqp_url, queue_name)
    return counts[1] if counts else 0


def test_dramatiq_qlosync_actors_consumes_both_queues_and_queues_selects_one(spawn_worker, fresh_vhost):
    # When `dramatiq qlosync.actors` starts, it consumes both work queues and their delay queues
    spawn_worker(module="qlosync.actors")
    everything = (INBOUND, delay_queue(INBOUND), OUTBOUND, delay_queue(OUTBOUND))
    wait_until(lambda: all(_consumers(fresh_vhost, q) == 1 for q in everything), what="a consumer on every queue")
    # When a second one starts with --queues qloapps.inbound, it consumes only inbound (with its delay queue)
    spawn_worker("--queues", INBOUND, module="qlosync.actors")
    wait_until(lambda: _consumers(fresh_vhost, INBOUND) == 2 and _consumers(fresh_vhost, delay_queue(INBOUND)) == 2,
               what="the inbound-only worker")
    assert (_consumers(fresh_vhost, OUTBOUND), _consumers(fresh_vhost, delay_queue(OUTBOUND))) == (1, 1)
    assert _consumers(fresh_vhost, DLQ) == 0  # nobody consumes dead letters but an operator


def test_a_worker_killed_mid_actor_loses_nothing_and_the_work_is_done_once(spawn_worker, send, engine, fresh_vhost):
    # Given worker A parked in the middle of an actor (its attempt is committed, its effect is not)
    create_event_tables(engine)
    a = spawn_worker()
    wait_until(lambda: _consumers(fresh_vhost, INBOUND) == 1, what="worker A")
    send("park", "job-1")
    (first,) = wait_until(lambda: events(engine, "attempt", "job-1"), what="A's attempt")
    # and worker B idle on the same queue
    b = spawn_worker()
    wait_until(lambda: _consumers(fresh_vhost, INBOUND) == 2, what="worker B")
    # When A is SIGKILLed (master and worker process: the whole group)
    killed_at = time.monotonic()
    os.killpg(a.pid, signal.SIGKILL)
    a.wait(timeout=30)
    # Then RabbitMQ redelivers the unacked message to B
    attempts = wait_until(lambda: (rows := events(engine, "attempt", "job-1")) and len(rows) == 2 and rows,
                          what="B's attempt")
    redelivery_s = time.monotonic() - killed_at
    print(f"\nredelivered to worker B {redelivery_s:.3f} s after SIGKILL")
    assert attempts[1].pid != first.pid
    assert events(engine, "effect", "job-1") == []  # A died before committing
    # When B is let go, the work is committed once
    set_flag(engine, "release:job-1")
    wait_until(lambda: events(engine, "effect", "job-1"), what="B's effect")
    # and after B stops cleanly nothing is left: the message was acked, not requeued, and not dead-lettered
    b.send_signal(signal.SIGTERM)
    assert b.wait(timeout=60) == 0
    assert queue_counts(fresh_vhost, INBOUND) == (0, 0)
    assert queue_counts(fresh_vhost, DLQ) == (0, 0)
    assert [row.pid for row in events(engine, "effect", "job-1")] == [attempts[1].pid]


def test_sigterm_lets_the_running_actor_finish_before_the_worker_exits(spawn_worker, send, engine, fresh_vhost):
    # Given a worker in the middle of an actor
    create_event_tables(engine)
    worker = spawn_worker()
    wait_until(lambda: _consumers(fresh_vhost, INBOUND) == 1, what="the worker")
    send("park", "job-2")
    wait_until(lambda: events(engine, "attempt", "job-2"), what="the attempt")
    # When it gets SIGTERM, it keeps running until the actor is done
    worker.send_signal(signal.SIGTERM)
    wait_until(lambda: "Shutting down..." in worker.log_path.read_text(errors="replace"), what="the shutdown to begin")
    assert worker.poll() is None and events(engine, "effect", "job-2") == []
    set_flag(engine, "release:job-2")
    # Then the actor commits, the worker exits cleanly, and the message was acked (not requeued)
    assert worker.wait(timeout=60) == 0
    assert len(events(engine, "effect", "job-2")) == 1
    assert queue_counts(fresh_vhost, INBOUND) == (0, 0)


def test_two_worker_processes_on_the_same_queue_share_the_load(spawn_worker, send, engine, fresh_vhost):
    # Given two worker processes on qloapps.inbound
    create_event_tables(engine)
    first, second = spawn_worker(), spawn_worker()
    wait_until(lambda: _consumers(fresh_vhost, INBOUND) == 2, what="both workers")
    # When 40 messages are sent
    for n in range(40):
        send("count", n)
    # Then every one is handled exactly once, by both processes
    rows = wait_until(lambda: (rows := events(engine, "count")) and len(rows) >= 40 and rows, what="40 counts")
    assert sorted(int(row.job) for row in rows) == list(range(40))
    per_process = Counter(row.pid for row in rows)
    print(f"\nmessages per worker process: {sorted(per_process.values())}")
    assert len(per_process) == 2 and min(per_process.values()) >= 1
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
    assert [p.wait(timeout=60) for p in (first, second)] == [0, 0]
    assert len(events(engine, "count")) == 40
    assert queue_counts(fresh_vhost, INBOUND) == (0, 0)
