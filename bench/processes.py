"""Helpers the benchmarks share: a free loopback port, start with a log, stop gracefully, wait for a condition,
a vhost's URL and its queue depths."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
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
