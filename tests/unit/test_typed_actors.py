"""An actor declared with qlosync_actor keeps its function's signature: mypy checks ``.send(...)`` calls.

scripts/test runs mypy over qlosync/ (which enqueues through ``.send``) before the tests, so its cache makes
this check quick there.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from mypy import api

from tests.deploy.entry_points import ROOT


def test_mypy_checks_the_arguments_of_an_actors_send(tmp_path: Path) -> None:
    # A module name of its own each run: mypy's cache would otherwise answer with an earlier run's path.
    snippet = tmp_path / f"enqueue_{uuid.uuid4().hex}.py"
    snippet.write_text(
        "from qlosync.actors import import_booking, push_rates\n"
        "import_booking.send('default', 42)\n"
        "push_rates.send(42, '2027-03-01', '2027-03-02')\n"
        "import_booking.send('default')\n")
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(snippet)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, out + err
    assert len(errors) == 2, out
    # By file name, not path: mypy's cache (shared by the xdist workers and by runs) may name the same snippet
    # at the tmp_path of the run that cached it.
    assert f"{snippet.name}:3: error:" in errors[0] and '"send"' in errors[0] and 'expected "str"' in errors[0]
    assert f"{snippet.name}:4: error:" in errors[1] and '"send"' in errors[1]
