"""qlosync's own processes (workers, schedulers, relays, the API) started as subprocesses and stopped the
way their supervisor would stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Graceful stop: SIGTERM to the main process only (dramatiq forwards it to its workers once; a
    second SIGTERM, as a signal to the whole group would deliver, makes a worker kill itself at once)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

