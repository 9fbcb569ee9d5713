"""``qlosync --help`` and the commands that serve neither the API nor the simulator start without loading them.

Each run of a command pays for its imports; FastAPI, uvicorn and the simulator belong to ``qlosync api`` and
``qlosync simulator`` only. A fresh interpreter is needed: this test process has imported them already.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "uvicorn", "starlette", "qlosync.api", "qlosync.qloapps.simulator")
# Their --help too: a command's module is imported for the group's help, its heavy imports wait for its run.
COMMANDS = ([], ["status"], ["db"], ["config", "show"], ["api"], ["simulator"], ["sync"], ["shops"], ["ari"], ["pms"], ["pms", "check"])

PROBE = """
import sys
from click.testing import CliRunner
import qlosync.cli
for command in {commands!r}:
    result = CliRunner().invoke(qlosync.cli.cli, [*command, "--help"])
    assert result.exit_code == 0, (command, result.output)
print(" ".join(name for name in {heavy!r} if name in sys.modules))
"""


def loaded_after_help(prelude: str = "") -> list[str]:
    completed = subprocess.run([sys.executable, "-c", prelude + PROBE.format(commands=COMMANDS, heavy=HEAVY)],
                               capture_output=True, text=True, timeout=120, check=True)
    return completed.stdout.split()


def test_help_of_the_cli_and_its_commands_loads_neither_api_nor_simulator() -> None:
    assert loaded_after_help() == []


def test_probe_sees_a_loaded_module() -> None:
    # The probe must see what it looks for, or the test above could never fail.
    assert loaded_after_help("import qlosync.qloapps.simulator\n") == ["qlosync.qloapps.simulator"]
