"""README "Running it", line by line, on a fresh database: it must end with the simulator's bookings in the PMS.

The block is read from README.md, so the guide and this test cannot drift. Only what is this test's own is
substituted: the database and vhost (DATABASE_URL and RABBITMQ_URL in the environment, as a user would set
them), the shop's URL (the simulator), the API's port (any free one: other runs share this machine) and the
interval on the scheduler's line (5 s instead of 5 minutes). Each line runs as its own bash process in the
environment the lines before it left (an ``export`` carries on, as in one shell); a line ending in ``&``
keeps running in the background until the end. The interval is set on the scheduler's line only.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import TEST_API_KEY, database_url_for
from tests.deploy.entry_points import ROOT
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)

BIN = Path(sys.executable).parent
README_URL = "https://booking.example.com"
README_INTERVAL = re.compile(r"QLOAPPS_SYNC_INTERVAL_MS=\d+")
INTERVAL_MS = 5_000
BACKGROUND = re.compile(r"^(.*?)\s*&\s*(?:#.*)?$")  # `command &   # comment`
pytestmark = pytest.mark.slow


def running_it_lines() -> list[str]:
    """The commands of the README's "Running it" block (its first indented block), as written."""
    section = ROOT.joinpath("README.md").read_text().split("\n## Running it\n", 1)[1].split("\n## ", 1)[0]
    lines: list[str] = []
    for line in section.splitlines():
        if line.startswith("    ") and line.strip():
            lines.append(line[4:])
        elif lines:
            break
    return lines


@dataclass
class Shell:
    """One shell's worth of environment, each line a real process in it."""

    env: dict[str, str]
    logs: Path
    background: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def run(self, line: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        background = BACKGROUND.match(line)
        if background:
            self._start(background.group(1))
            return subprocess.CompletedProcess(line, 0, "", "")
        env_file = self.logs / f"env-{uuid.uuid4().hex[:6]}"
        # After the line, the shell's environment is saved for the next one (so an export carries on).
        script = f'{line}\nrc=$?\nenv -0 > {env_file}\nexit $rc\n'
        result = subprocess.run(["bash", "-c", script], env=self.env, input=stdin, capture_output=True, text=True,
                                timeout=120, cwd=self.logs)
        if env_file.exists():
            self.env = dict(entry.split("=", 1) for entry in env_file.read_text().split("\0") if "=" in entry)
        return result

    def _start(self, command: str) -> None:
        program = next(word for word in command.split() if "=" not in word)
        log = (self.logs / f"{len(self.background)}-{program}.log").open("wb")
        process = subprocess.Popen(["bash", "-c", command], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=self.logs, start_new_session=True)
        self.background.append((command, process))

        # bash runs a single command by exec'ing it, so SIGTERM reaches the program itself (dramatiq's
        # master must get it once, and only it).
        def execed() -> bool:
            try:
                argv0 = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                return True  # exited: its log says why, and the wait below fails
            return Path(argv0.decode()).name != "bash"

        wait_until(execed, timeout=10, interval=0.02, what=f"bash to exec {command!r}")

    def stop_all(self) -> None:
        for _, process in self.background:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in self.background:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def substitute(line: str, simulator_url: str) -> str:
    line = line.replace(README_URL, simulator_url)
    line = README_INTERVAL.sub(f"QLOAPPS_SYNC_INTERVAL_MS={INTERVAL_MS}", line)
    return re.sub(r"^qlosync api(?= |$)", "qlosync api --port 0", line)


def test_readme_running_it_line_by_line_ends_with_the_bookings_in_the_pms(
    simulator, pg_admin, unused_database_name, fresh_vhost, tmp_path  # noqa: F811
):
    simulator.store.generate_bookings(15, seed=13)
    expected = set(simulator.store.table("orders"))
    assert len(expected) >= 15
    lines = running_it_lines()
    # The guide puts the interval where it counts, on the scheduler's line, and nowhere else.
    assert [line for line in lines if README_INTERVAL.search(line)] == [
        line for line in lines if "periodiq qlosync.schedule" in line], lines
    database_url = database_url_for(unused_database_name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DATABASE_", "RABBITMQ_"))}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", DATABASE_URL=database_url, RABBITMQ_URL=fresh_vhost)
    shell = Shell(env, tmp_path)
    engine = create_engine(database_url)
    try:
        *setup, last = lines
        for line in setup:
            result = shell.run(substitute(line, simulator.base_url), stdin=TEST_API_KEY + "\n")
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
            assert TEST_API_KEY not in result.stdout + result.stderr, line
        assert "QLOSYNC_SECRET_KEY" in shell.env  # the guide's export reached the lines after it

        def mapped_orders() -> set[int]:
            with engine.connect() as connection:
                return set(connection.scalars(text(
                    "SELECT m.qloapps_order_id FROM qloapps_reservation_mappings m"
                    " JOIN pms_reservations r ON r.id::text = m.pms_reservation_id WHERE m.parked_reason IS NULL")))

        for command, process in shell.background:
            assert process.poll() is None, f"{command!r} exited with {process.returncode}"
        wait_until(lambda: mapped_orders() >= expected, timeout=150, interval=0.5,
                   what="the simulator's bookings in the PMS")

        def scheduled_slots() -> list:  # type: ignore[type-arg]
            with engine.connect() as connection:
                return list(connection.scalars(text(
                    "SELECT slot_at FROM qloapps_sync_state WHERE slot_at IS NOT NULL AND status <> 'running'"
                    " ORDER BY slot_at")))

        # They came with the scheduler's pulls, at the scheduler's interval (the worker was given none).
        slots = wait_until(lambda: scheduled_slots()[1:] and scheduled_slots(), timeout=60, interval=0.5,
                           what="two scheduled pulls")
        assert {b - a for a, b in zip(slots, slots[1:], strict=False)} == {timedelta(milliseconds=INTERVAL_MS)}, slots
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM qloapps_sync_state WHERE trigger = 'manual'")) == 0

        status = shell.run(substitute(last, simulator.base_url))
        assert last.startswith("qlosync status"), last
        assert re.search(r"\bscheduler\b.*\balive\b", status.stdout), status.stdout + status.stderr
        assert status.returncode == 0, status.stdout + status.stderr
    finally:
        shell.stop_all()
        engine.dispose()
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.glob("*.log")}
    assert all(process.returncode is not None for _, process in shell.background)
    assert TEST_API_KEY not in "".join(logs.values())
