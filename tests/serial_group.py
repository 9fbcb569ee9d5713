"""The tests pytest-xdist must not run beside each other: one worker runs them one after another.

scripts/test runs ``pytest -n N --dist loadgroup``. The fault tests start, stop and break private servers and
network namespaces, and load the machine; the others assert how long something takes. Together they are
one work unit, the largest, which xdist hands out first; the other workers share the rest meanwhile.

xdist's own ``xdist_group`` marker groups by renaming the test ids, which pytest 9.2 no longer lets it do (the
tests of a group end up on any worker), so this scheduler groups by path, and keeps the marker's groups too.
"""

from __future__ import annotations

from typing import Any

import pytest

SERIAL_GROUP = "serial"
SERIAL_TESTS = (
    "tests/faults/",
    # Bounds on how long something takes, which the load of the other workers could break.
    "tests/deploy/test_demo.py",
    "tests/acceptance/test_outbound_scale.py",
    "tests/acceptance/test_outbound_processes.py::test_sql_changes_reach_qloapps_through_relay_and_worker",
    "tests/acceptance/test_scheduler_process.py::test_five_second_interval_runs_one_pull_per_slot_with_two_schedulers",
)


def work_unit(nodeid: str) -> str | None:
    """The group of a test id, or None when it may run on any worker, at any time."""
    return SERIAL_GROUP if nodeid.startswith(SERIAL_TESTS) else None


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: the hook is xdist's, and -p no:xdist is fine
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SerialGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid) or super()._split_scope(nodeid)

    return SerialGroupScheduling(config, log)
