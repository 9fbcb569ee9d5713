"""The worker (`dramatiq qlosync.actors`), the relay (`qlosync relay`) and the scheduler (`periodiq
qlosync.schedule`) refuse to start on a database that is not the PMS QLOSYNC_PMS names: one line, exit 1, no
traceback (checked once, at start)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.runtime_support import fresh_vhost  # noqa: F401  (fixture)
from tests.subprocesses import BIN

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = {
    "worker": ([str(BIN / "dramatiq"), "qlosync.actors", "--processes", "1", "--threads", "1"], "Worker not started: "),
    "scheduler": ([str(BIN / "periodiq"), "qlosync.schedule"], "Scheduler not started: "),
    "relay": ([str(BIN / "qlosync"), "relay"], "Error: "),
}
NOT_HMS = "the database is not the hotelmanangement PMS QLOSYNC_PMS names: table hotels missing; "
NOT_BUILTIN = "the database is not the builtin PMS QLOSYNC_PMS names: no table of the built-in PMS in public"


def run(args: list[str], env: dict[str, str], log: Path) -> tuple[int, str]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            returncode = process.wait(timeout=90)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait(timeout=30)
    return returncode, log.read_text(errors="replace")


CASES = [
    # qlosync's database with the built-in PMS, while QLOSYNC_PMS says hotelmanangement
    *[pytest.param(role, "hotelmanangement", True, NOT_HMS, id=f"{role}-hms-on-builtin") for role in sorted(PROCESSES)],
    # a database with no PMS at all (the relay says first that it needs `qlosync db upgrade`, as it did before)
    *[pytest.param(role, "builtin", False, NOT_BUILTIN, id=f"{role}-builtin-on-empty") for role in ("scheduler", "worker")],
]


@pytest.mark.parametrize(("role", "pms", "migrated", "expected"), CASES)
def test_a_process_on_a_database_that_is_not_the_pms_exits_1_with_one_line(  # type: ignore[no-untyped-def]
        db_factory, fresh_vhost, tmp_path, role, pms, migrated, expected):  # noqa: F811
    args, prefix = PROCESSES[role]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DATABASE_URL", "RABBITMQ_URL"))}
    env.update(DATABASE_URL=db_factory(migrated=migrated), RABBITMQ_URL=fresh_vhost, QLOSYNC_PMS=pms, TZ="UTC")
    returncode, output = run(args, env, tmp_path / f"{role}.log")
    assert returncode == 1, output
    assert "Traceback" not in output, output
    (line,) = [line for line in output.splitlines() if "the database is not the" in line]
    assert prefix + expected in line, line
