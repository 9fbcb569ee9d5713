"""scripts/test, the README's test command, on a machine where the tools some tests call are missing.

It must install them itself (scripts/install-tools), before pytest starts, not only when CI ran
scripts/install-tools first. A copy of the script runs in a scratch checkout whose install-tools only
records that it ran: this machine's real tools are neither needed nor touched. Its ``qlosync/`` is a
one-line package, so the script's mypy step checks that and not the real code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.entry_points import ROOT, SCRATCH_PYTEST_PLUGINS_OFF

VENV = Path(sys.executable).parent.parent


def scratch_checkout(tmp_path: Path, package_source: str, test_source: str | None = None) -> tuple[Path, Path]:
    """A checkout with copies of scripts/test and ensure-services, a recording install-tools, and one test."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for script in ("test", "ensure-services"):
        shutil.copy2(ROOT / "scripts" / script, checkout / "scripts" / script)
    marker = tmp_path / "install-tools-ran"
    stub = checkout / "scripts" / "install-tools"
    stub.write_text(f"#!/usr/bin/env bash\necho ran >> {marker}\n")
    stub.chmod(0o755)
    (checkout / ".venv").symlink_to(VENV)
    (checkout / "qlosync").mkdir()
    (checkout / "qlosync" / "__init__.py").write_text(package_source)
    # The one test pytest finds passes only if the tools were installed before it started.
    (checkout / "test_tools_first.py").write_text(test_source or (
        f"from pathlib import Path\n\ndef test_tools_were_installed():\n    assert Path({str(marker)!r}).exists()\n"))
    return checkout, marker


def run_scripts_test(checkout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(checkout / "scripts" / "test"), "-q", "-p", "no:cacheprovider",
                           *SCRATCH_PYTEST_PLUGINS_OFF, "test_tools_first.py"],
                          cwd=checkout, env={**os.environ, "QLOSYNC_TEST_WORKERS": "1"}, capture_output=True,
                          text=True, timeout=120)  # one worker is enough for one test


def test_scripts_test_installs_the_tools_before_pytest_runs(tmp_path):
    checkout, marker = scratch_checkout(tmp_path, "ANSWER: int = 42\n")
    result = run_scripts_test(checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
    assert marker.read_text() == "ran\n"


def test_scripts_test_fails_on_a_type_error_before_pytest_runs(tmp_path):
    checkout, _ = scratch_checkout(tmp_path, 'ANSWER: int = "42"\n')
    result = run_scripts_test(checkout)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Found 1 error in 1 file" in result.stdout, result.stdout
    assert "passed" not in result.stdout, result.stdout


def test_scripts_test_runs_the_tests_on_xdist_workers_and_names_the_slowest(tmp_path):
    checkout, _ = scratch_checkout(tmp_path, "ANSWER: int = 42\n", test_source=(
        "import os\n\ndef test_runs_on_a_worker():\n    assert os.environ.get('PYTEST_XDIST_WORKER', '').startswith('gw')\n"))
    result = run_scripts_test(checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
    assert "slowest 10 durations" in result.stdout, result.stdout


def test_scripts_test_fails_when_no_test_is_collected_on_workers(tmp_path):
    checkout, _ = scratch_checkout(tmp_path, "ANSWER: int = 42\n", test_source="X = 1\n")
    result = run_scripts_test(checkout)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "collected no tests" in result.stderr, result.stderr
