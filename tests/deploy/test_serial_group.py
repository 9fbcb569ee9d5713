"""Under scripts/test's ``-n N --dist loadgroup`` the serial tests (tests/serial_group.py) share one worker.

A scratch project with the same layout: four "fault" tests and eight others, on three workers. Each test
records the worker it ran on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.deploy.entry_points import ROOT, SCRATCH_PYTEST_PLUGINS_OFF

RECORD = "import os\nfrom pathlib import Path\n\n" + "".join(
    f"def test_{i}():\n    Path(os.environ['RECORD'], __name__ + '-{i}').write_text(os.environ['PYTEST_XDIST_WORKER'])\n\n"
    for i in range(4))


def workers_by_test(tmp_path: Path) -> dict[str, str]:
    project = tmp_path / "project"
    for directory in ("tests/faults", "tests/unit", "tests/integration"):
        (project / directory).mkdir(parents=True)
        (project / directory / f"test_{directory.split('/')[1]}.py").write_text(RECORD)
    (project / "pytest.ini").write_text("[pytest]\n")
    record = tmp_path / "record"
    record.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.serial_group", "-n", "3", "--dist", "loadgroup", "-q",
         "-p", "no:cacheprovider", *SCRATCH_PYTEST_PLUGINS_OFF], cwd=project, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RECORD": str(record)})
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.name: path.read_text() for path in record.iterdir()}


def test_the_serial_tests_run_on_one_worker_and_the_others_on_the_rest(tmp_path):
    workers = workers_by_test(tmp_path)
    assert len(workers) == 12, workers
    serial = {worker for test, worker in workers.items() if test.startswith("test_faults")}
    others = {worker for test, worker in workers.items() if not test.startswith("test_faults")}
    assert len(serial) == 1, workers
    assert others - serial, workers  # the others did not wait for them
