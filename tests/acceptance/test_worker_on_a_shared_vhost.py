"""The real `dramatiq qlosync.actors` and `periodiq qlosync.schedule` started on a vhost where the Hotel Management
System's publisher declared qloapps.inbound and qloapps.outbound its own way: one line with every argument that
differs and the fix, exit 1; no traceback, no consumer restarting forever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pms_publisher import declare_pms_topology
from tests.runtime_support import fresh_vhost  # noqa: F401  (fixture)

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
PROCESSES = {
    "worker": [str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "1"],
    "scheduler": [str(BIN / "periodiq"), "qlosync.schedule"],
}


@pytest.mark.parametrize("role", sorted(PROCESSES))
def test_a_process_on_the_pms_queues_exits_1_with_the_differences_and_the_fix(database_url, fresh_vhost, tmp_path, role):
    # Given the PMS's topology on the vhost qlosync is pointed at
    declare_pms_topology(fresh_vhost)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DATABASE_URL", "RABBITMQ_URL"))}
    env.update(DATABASE_URL=database_url, RABBITMQ_URL=fresh_vhost, TZ="UTC")
    log = tmp_path / f"{role}.log"
    # When the process starts
    with log.open("wb") as out:
        process = subprocess.Popen(PROCESSES[role], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            returncode = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait(timeout=30)
    # Then it exits 1 with one line that names the queue, what differs and the fix
    text = log.read_text(errors="replace")
    assert returncode == 1, text
    assert "Traceback" not in text and "Restarting consumer" not in text, text
    (line,) = [line for line in text.splitlines() if "not started: RabbitMQ queue" in line]
    assert "already exists with other arguments than qlosync declares" in line
    assert "x-max-priority = 10 (qlosync: not set)" in line and "x-message-ttl = 86400000 (qlosync: not set)" in line
    assert "give qlosync a vhost of its own" in line and "RABBITMQ_URL=" in line
    assert "guest:guest" not in text  # the URL's credentials are never logged
