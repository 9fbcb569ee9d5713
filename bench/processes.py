"""Helpers the benchmarks share: a free loopback port, start with a log, stop gracefully, wait for a condition,
a vhost's URL and its queue depths."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM to the main process (dramatiq forwards it to its workers), SIGKILL to the group after *timeout*."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(condition: Any, what: str, timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def alive(processes: list[subprocess.Popen[bytes]], logs: Path) -> bool:
    """True, or exit with the logs' tails when one of the bench's processes died."""
    for process in processes:
        if process.poll() is not None:
            tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(logs.glob("*.log")))
            raise SystemExit(f"bench: {' '.join(map(str, process.args))} exited with {process.returncode}\n{tails}")
    return True


def vhost_url(amqp_url: str, vhost: str) -> str:
    parts = urlsplit(amqp_url)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


def queue_counts(amqp_url: str, queue: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue, or None when it does not exist."""
    from qlosync.runtime.topology import passive_counts

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return passive_counts(connection, queue)
    finally:
        if connection.is_open:
            connection.close()


@dataclass
class BenchRun:
    """A benchmark's throwaway database and RabbitMQ vhost, its log folder and the processes it started."""

    database_url: str
    amqp_url: str
    vhost: str
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of qlosync processes of this run (the caller's QLOSYNC_/QLOAPPS_ settings left out)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))}
        return {**base, "DATABASE_URL": self.database_url, "RABBITMQ_URL": self.amqp_url, **extra}


@contextmanager
def bench_run(kind: str, keep_logs: bool = False) -> Iterator[BenchRun]:
    """Create a migrated database beside DATABASE_URL's and a vhost on RABBITMQ_URL's broker; afterwards stop
    the run's processes (last started first), drop both, and remove the logs unless kept or the run failed."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from qlosync.db import migrate
    from qlosync.settings import Settings
    from tests import rabbitmq_admin

    settings = Settings.from_env()
    base = make_url(settings.database_url)
    name = f"qlosync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    logs = Path(tempfile.mkdtemp(prefix=f"qlosync-bench-{kind}-"))
    url = base.set(database=name).render_as_string(hide_password=False)
    run = BenchRun(url, vhost_url(settings.rabbitmq_url, name), name, logs)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    vhost_made = finished = False
    try:
        rabbitmq_admin.add_vhost(name)
        vhost_made = True
        migrate.upgrade(url)
        yield run
        finished = True
    finally:
        for process in reversed(run.processes):
            stop(process)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if vhost_made:
            rabbitmq_admin.delete_vhost(name)
        if keep_logs or not finished:
            print(f"process logs kept in {logs}", file=sys.stderr)
        else:
            shutil.rmtree(logs, ignore_errors=True)
