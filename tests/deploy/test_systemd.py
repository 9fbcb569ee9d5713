"""deploy/systemd/: each unit starts a real entry point, restarts, waits for the migration, and stops gracefully.

Parsed with configparser (strict=False: systemd allows repeated keys). When `systemd-analyze` is installed,
`systemd-analyze verify` checks every unit too, on a copy whose /opt/qlosync paths point at this checkout.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.entry_points import BIN, ROOT, check_command, dramatiq_shutdown_ms

UNITS = ROOT / "deploy" / "systemd"
INSTALL = "/opt/qlosync"
SERVICES = {
    "qlosync-api.service": ["qlosync", "api"],
    "qlosync-worker@.service": ["dramatiq", "qlosync.actors"],
    "qlosync-relay.service": ["qlosync", "relay"],
    "qlosync-scheduler.service": ["periodiq", "qlosync.schedule"],
}
MIGRATE = "qlosync-migrate.service"
TARGET = "qlosync.target"
INSTANCES = ("inbound", "outbound")


def load(name: str) -> configparser.RawConfigParser:
    path = UNITS / name
    assert path.is_file(), f"missing {path}"
    parser = configparser.RawConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                          comment_prefixes=("#", ";"), empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  (systemd keys are case-sensitive)
    parser.read(path)
    return parser


def exec_start(unit: configparser.RawConfigParser, instance: str = "inbound") -> list[str]:
    raw = unit.get("Service", "ExecStart")
    argv = shlex.split(raw.replace("%i", instance))
    assert argv[0].startswith(f"{INSTALL}/.venv/bin/"), f"ExecStart must use the install's venv: {raw}"
    return argv


def seconds(value: str) -> float:
    """A systemd time span: 660, 11min, 1min 30s, 500ms."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "ms": 0.001}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value.strip()):
        total += float(number) * units[unit]
    return total


def test_the_unit_files_are_there():
    assert {p.name for p in UNITS.iterdir()} == {*SERVICES, MIGRATE, TARGET}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_runs_a_real_entry_point_and_restarts(name):
    unit = load(name)
    service = unit["Service"]
    for instance in INSTANCES if "@" in name else ("",):
        argv = exec_start(unit, instance)
        assert [Path(argv[0]).name, *argv[1:]][:2] == SERVICES[name], argv
        check_command([Path(argv[0]).name, *argv[1:]], where=f"{name} ExecStart")
        if "@" in name:
            assert argv[argv.index("--queues") + 1] == f"qloapps.{instance}", argv
    assert service["Restart"] == "always"
    assert seconds(service["RestartSec"]) > 0
    assert service["User"] == "qlosync" and service["Group"] == "qlosync"
    assert service["EnvironmentFile"] == "/etc/qlosync/env"
    assert service["KillSignal"] == "SIGTERM"
    # Only the main process gets SIGTERM (a dramatiq master forwards it once; twice kills a worker).
    assert service["KillMode"] == "mixed"
    assert "TZ=UTC" in service.get("Environment", "").split()
    assert seconds(service["TimeoutStopSec"]) > 0


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_waits_for_the_migration_and_belongs_to_the_target(name):
    unit = load(name)["Unit"]
    assert MIGRATE in unit["Requires"].split()
    assert MIGRATE in unit["After"].split()
    assert unit["PartOf"] == TARGET
    assert load(name)["Install"]["WantedBy"] == TARGET


def test_workers_get_longer_than_their_graceful_shutdown_before_sigkill():
    unit = load("qlosync-worker@.service")
    for instance in INSTANCES:
        argv = exec_start(unit, instance)
        shutdown_ms = dramatiq_shutdown_ms([Path(argv[0]).name, *argv[1:]])
        assert seconds(unit["Service"]["TimeoutStopSec"]) * 1000 > shutdown_ms


def test_the_api_binds_loopback():
    argv = exec_start(load("qlosync-api.service"))
    assert argv[argv.index("--host") + 1] == "127.0.0.1", argv


def test_migrate_is_a_oneshot_that_stays_active():
    unit = load(MIGRATE)
    service = unit["Service"]
    assert service["Type"] == "oneshot"
    assert service["RemainAfterExit"] == "yes"
    assert "Restart" not in service
    argv = exec_start(unit)
    assert [Path(argv[0]).name, *argv[1:]] == ["qlosync", "db", "upgrade"]
    check_command(["qlosync", "db", "upgrade"], where=f"{MIGRATE} ExecStart")
    assert service["User"] == "qlosync" and service["EnvironmentFile"] == "/etc/qlosync/env"


def test_the_target_wants_every_unit():
    wanted = set(load(TARGET)["Unit"]["Wants"].split())
    expected = {MIGRATE, *(n for n in SERVICES if "@" not in n),
                *(f"qlosync-worker@{i}.service" for i in INSTANCES)}
    assert wanted == expected
    assert load(TARGET)["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (optional: the parsing tests above still ran)")
    # Point the units at this checkout, so verify can check that every ExecStart is executable here.
    for path in UNITS.iterdir():
        text = path.read_text().replace(f"{INSTALL}/.venv/bin", str(BIN)).replace(INSTALL, str(ROOT))
        (tmp_path / path.name).write_text(text)
    names = [MIGRATE, TARGET, *(n for n in SERVICES if "@" not in n), *(f"qlosync-worker@{i}.service" for i in INSTANCES)]
    result = subprocess.run([tool, "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, f"systemd-analyze verify:\n{output}"
