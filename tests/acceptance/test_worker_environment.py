"""The real `dramatiq qlosync.actors` and `periodiq qlosync.schedule` started against a RabbitMQ that refuses them:
one line and an exit, no loop, no traceback.

Without the check a worker whose RABBITMQ_URL names a missing vhost (or a wrong password) logged a CRITICAL
traceback, then restarted its consumers every 3 s forever while looking alive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.refused_broker import WRONG_PASSWORD, refused_amqp_url

DRAMATIQ = str(Path(sys.executable).with_name("dramatiq"))
ROOT = Path(__file__).resolve().parents[2]
PROCESSES = {
    "worker": [DRAMATIQ, "qlosync.actors", "--processes", "1", "--threads", "1"],
    "scheduler": [str(Path(sys.executable).with_name("periodiq")), "qlosync.schedule"],
}


@pytest.mark.parametrize("role", sorted(PROCESSES))
@pytest.mark.parametrize("case", ["missing vhost", "wrong password"])
def test_a_process_that_rabbitmq_refuses_exits_3_with_one_line(database_url, tmp_path, case, role):
    url, where, reason = refused_amqp_url(case)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DATABASE_URL", "RABBITMQ_URL"))}
    env.update(DATABASE_URL=database_url, RABBITMQ_URL=url, TZ="UTC")
    log = tmp_path / f"{role}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(PROCESSES[role], cwd=ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait(timeout=30)
    text = log.read_text(errors="replace")
    assert returncode == 3, text
    assert "Traceback" not in text and "Restarting consumer" not in text, text
    (line,) = [line for line in text.splitlines() if "RabbitMQ" in line]
    assert f"cannot reach RabbitMQ at {where} (" in line and reason in line, line
    assert WRONG_PASSWORD not in text
