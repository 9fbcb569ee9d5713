"""Test actors for ``dramatiq tests.acceptance.worker_app`` subprocesses.

RABBITMQ_URL and DATABASE_URL come from the environment (through Settings.from_env, as in
``qlosync.actors``). Actors leave committed evidence in ``test_events`` (see tests/runtime_support.py)
and wait on rows in ``test_flags``, so tests can observe and steer them without sleeping blindly.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import text

from qlosync.runtime.broker import qlosync_actor, setup_broker
from qlosync.errors import TransientError
from qlosync.runtime.queues import INBOUND
from qlosync.runtime.context import current_runtime

broker = setup_broker()

PARK_TIMEOUT_S = 60.0


def _event(kind: str, job: str) -> None:
    with current_runtime().transaction() as session:
        session.execute(text("INSERT INTO test_events (kind, job, pid) VALUES (:kind, :job, :pid)"),
                        {"kind": kind, "job": job, "pid": os.getpid()})


def _flag(name: str) -> bool:
    with current_runtime().transaction() as session:
        return session.execute(text("SELECT 1 FROM test_flags WHERE name = :n"), {"n": name}).first() is not None


@qlosync_actor(queue_name=INBOUND, max_retries=0)
def park(job: str) -> None:
    """Record the attempt, wait until the test sets flag ``release:<job>``, then commit the effect."""
    _event("attempt", job)
    deadline = time.monotonic() + PARK_TIMEOUT_S
    while not _flag(f"release:{job}"):
        if time.monotonic() > deadline:
            raise TransientError(f"{job} was never released")
        time.sleep(0.02)
    _event("effect", job)


@qlosync_actor(queue_name=INBOUND)
def count(n: int) -> None:
    """Record which process handled message *n*."""
    _event("count", str(n))
