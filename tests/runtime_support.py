"""Helpers for the runtime tests (broker, DLQ, middleware, worker processes): real RabbitMQ and Postgres.

* ``wait_until`` polls a condition with a deadline (never a bare sleep).
* ``fresh_vhost`` gives one test its own RabbitMQ vhost, for tests that must use qlosync's real queue
  names (``qloapps.inbound``, ``qloapps.dlq``): CLI commands and ``dramatiq`` subprocesses.
* ``InProcessWorker`` runs a dramatiq Worker in the test process on per-test queue names.
* ``events`` tables let test actors leave committed evidence (attempts, effects, pids).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dramatiq
import pika
import pika.exceptions
import pytest
from sqlalchemy import Engine, text

from qlosync.runtime.broker import QlosyncRabbitmqBroker, RetryPolicy, build_broker
from qlosync.settings import Settings
from qlosync.runtime.topology import passive_counts
from tests.conftest import AMQP_URL
from tests.spares import Spares

T = TypeVar("T")

#: Tiny backoffs so retry tests take about a second: waits of 100-200, 200-400, 400-800 ms.
FAST_RETRIES = RetryPolicy(max_retries=3, min_backoff_ms=100, max_backoff_ms=1_000)


def wait_until(condition: Callable[[], T], *, timeout: float = 20.0, interval: float = 0.02, what: str = "") -> T:
    """Poll *condition* until it returns something truthy (returned), or fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition!r}")
        time.sleep(interval)


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


@pytest.fixture
def fresh_vhost(vhost_spares: Spares[str]) -> Iterator[str]:
    """An AMQP URL on a vhost that exists only for this test (made ahead and deleted behind it: about 2 s each
    with rabbitmqctl; ``vhost_spares`` in tests/conftest.py)."""
    vhost = vhost_spares.take()
    yield f"{AMQP_URL}/{vhost}"
    vhost_spares.throw_away(vhost)


def queue_counts(amqp_url: str, queue_name: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue, or None if it does not exist."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return passive_counts(connection, queue_name)
    finally:
        if connection.is_open:
            connection.close()


def create_event_tables(engine: Engine) -> None:
    """Tables test actors write to: ``test_events`` (evidence) and ``test_flags`` (conditions to wait on)."""
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE test_events (id bigserial PRIMARY KEY, kind text NOT NULL, job text NOT NULL,"
            " pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ))
        connection.execute(text("CREATE TABLE test_flags (name text PRIMARY KEY)"))


def events(engine: Engine, kind: str, job: str | None = None) -> list[Any]:
    query = "SELECT kind, job, pid, at FROM test_events WHERE kind = :kind"
    if job is not None:
        query += " AND job = :job"
    with engine.connect() as connection:
        return list(connection.execute(text(query + " ORDER BY id"), {"kind": kind, "job": job}))


def set_flag(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO test_flags (name) VALUES (:n) ON CONFLICT DO NOTHING"), {"n": name})


def clear_flag(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM test_flags WHERE name = :n"), {"n": name})


@dataclass
class InProcessWorker:
    """A broker on per-test queue names plus a dramatiq Worker in this process (started on demand)."""

    broker: QlosyncRabbitmqBroker
    queue: str
    dlq: str
    worker: dramatiq.Worker | None = None
    actors: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, *, retry_policy: RetryPolicy = FAST_RETRIES, **kwargs: Any) -> InProcessWorker:
        queue, dlq = unique("t.work"), unique("t.dlq")
        broker = build_broker(settings, retry_policy=retry_policy, work_queues=(queue,), dead_letter_queue=dlq, **kwargs)
        return cls(broker=broker, queue=queue, dlq=dlq)

    def start(self) -> None:
        # Like `dramatiq` does in each worker process: process boot (starts the TimeLimit thread), then boot.
        self.broker.emit_after("process_boot")
        self.worker = dramatiq.Worker(self.broker, worker_timeout=20, worker_threads=1)
        self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.broker.close()


@pytest.fixture
def in_process_worker(settings: Settings, rabbitmq_vhost: str) -> Iterator[Callable[..., InProcessWorker]]:
    """Factory for InProcessWorker on the run's vhost and this test's database; stopped at teardown."""
    made: list[InProcessWorker] = []

    def make(*, settings_override: dict[str, Any] | None = None, **kwargs: Any) -> InProcessWorker:
        worker_settings = settings.with_(rabbitmq_url=rabbitmq_vhost, **(settings_override or {}))
        made.append(InProcessWorker.build(worker_settings, **kwargs))
        return made[-1]

    yield make
    for item in made:
        item.stop()
