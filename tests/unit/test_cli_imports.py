"""``qlosync --help`` and the commands that serve neither the API nor the simulator start without loading them.

Each run of a command pays for its imports; FastAPI, uvicorn and the simulator belong to ``qlosync api`` and
``qlosync simulator`` only. A fresh interpreter is needed: this test process has imported them already.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "uvicorn", "starlette", "qlosync.api", "qlosync.qloapps.simulator")

PROBE = """
import sys
from click.testing import CliRunner
import qlosync.cli
result = CliRunner().invoke(qlosync.cli.cli, [*sys.argv[1:], "--help"])
assert result.exit_code == 0, result.output
print(" ".join(name for name in {heavy!r} if name in sys.modules))
"""


def loaded_after(*args: str) -> list[str]:
    completed = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True,
                               text=True, timeout=60, check=True)
    return completed.stdout.split()


def test_help_loads_neither_api_nor_simulator() -> None:
    assert loaded_after() == []


def test_subcommand_help_loads_neither_api_nor_simulator() -> None:
    for command in (["status"], ["db"], ["config", "show"], ["api"], ["simulator"], ["sync"]):
        assert loaded_after(*command) == [], command


def test_probe_sees_a_loaded_module() -> None:
    # The probe must be able to see what it looks for, or the tests above could never fail.
    completed = subprocess.run([sys.executable, "-c", "import qlosync.qloapps.simulator\n" + PROBE.format(
        heavy=HEAVY)], capture_output=True, text=True, timeout=60, check=True)
    assert "qlosync.qloapps.simulator" in completed.stdout.split()
