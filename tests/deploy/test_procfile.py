"""The Procfile under honcho: `honcho check`, the commands are real entry points, and for real: `honcho start`
against this test's database and RabbitMQ vhost brings up the API, both workers, the relay and the
scheduler, and SIGTERM stops every one of them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from qlosync.runtime.queues import INBOUND, OUTBOUND
from tests.acceptance.outbound_support import process_env
from tests.deploy.entry_points import BIN, ROOT, check_command
from tests.runtime_support import fresh_vhost, queue_counts, wait_until  # noqa: F401  (fixture)

PROCFILE = ROOT / "Procfile"
PROCESSES = ["api", "inbound", "outbound", "relay", "scheduler"]
LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")  # honcho's own Procfile grammar
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def procfile() -> dict[str, str]:
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        match = LINE.match(line)
        if match:
            entries[match.group(1)] = match.group(2)
    return entries


def split(command: str) -> tuple[dict[str, str], list[str]]:
    """`A=1 B=2 exec prog args` -> ({A: 1, B: 2}, [prog, args])."""
    words = shlex.split(command)
    env = {}
    while words and ASSIGNMENT.match(words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if words[:1] == ["exec"]:
        words.pop(0)
    return env, words


def test_honcho_check_passes():
    result = subprocess.run([str(BIN / "honcho"), "check", "-f", str(PROCFILE)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"({', '.join(PROCESSES)})" in result.stdout + result.stderr


def test_every_line_is_a_real_entry_point_with_its_own_metrics_port():
    entries = procfile()
    assert list(entries) == PROCESSES
    for name, command in entries.items():
        env, argv = split(command)
        check_command([a.replace("$PORT", "5000") for a in argv], where=f"Procfile {name}")
        if name == "api":
            assert argv[:2] == ["qlosync", "api"] and argv[argv.index("--port") + 1] == "$PORT", argv
            assert argv[argv.index("--host") + 1] == "127.0.0.1", argv
        else:
            # honcho gives every process (and every copy under -c) its own PORT: distinct metrics ports.
            assert env.get("QLOSYNC_METRICS_PORT") == "$PORT", f"{name}: {command}"
    assert split(entries["inbound"])[1][:4] == ["dramatiq", "qlosync.actors", "--queues", INBOUND]
    assert split(entries["outbound"])[1][:4] == ["dramatiq", "qlosync.actors", "--queues", OUTBOUND]
    assert split(entries["relay"])[1] == ["qlosync", "relay"]
    assert split(entries["scheduler"])[1] == ["periodiq", "qlosync.schedule"]
    assert split(entries["scheduler"])[0].get("TZ") == "UTC"


def free_base_port() -> int:
    """A base port N with N, N+100, ... N+400 free (honcho's PORT for the five lines)."""
    for base in range(21000 + os.getpid() % 500 * 10, 60000, 17):
        sockets = []
        try:
            for i in range(len(PROCESSES)):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + 100 * i))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError("no free ports")


def descendants(pid: int) -> dict[int, str]:
    """pid -> start time of every live (non-zombie) descendant of *pid*, from /proc."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        starts[int(entry)] = fields[19]
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def alive(pid: int, start: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[0] != "Z" and fields[19] == start


def test_honcho_start_runs_everything_and_stops_on_sigterm(database_url, fresh_vhost, secret_key, tmp_path):  # noqa: F811
    base = free_base_port()
    settings = process_env(database_url, fresh_vhost, secret_key.reveal())
    # The settings go through honcho's .env (as in a real checkout); the process environment only adds PATH.
    env_file = tmp_path / "qlosync.env"
    env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in settings.items()
                                if k.startswith(("DATABASE_URL", "RABBITMQ_URL", "QLOSYNC_", "QLOAPPS_"))))
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("QLOSYNC_", "QLOAPPS_")) and k not in ("DATABASE_URL", "RABBITMQ_URL", "PORT")}
    environ["PATH"] = f"{BIN}{os.pathsep}{environ.get('PATH', '')}"
    log_path = tmp_path / "honcho.log"
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "start", "-f", str(PROCFILE), "-d", str(ROOT), "-e", str(env_file), "-p", str(base),
         "--no-colour"],
        cwd=ROOT, env=environ, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    engine = create_engine(database_url)

    def log() -> str:
        return log_path.read_text(errors="replace")

    seen: dict[int, str] = {}  # every process honcho started, for the cleanup if the test fails

    def running(what: str):  # type: ignore[no-untyped-def]
        def check():  # type: ignore[no-untyped-def]
            if honcho.poll() is not None:
                raise AssertionError(f"honcho exited ({honcho.returncode}) while waiting for {what}:\n{log()}")
            seen.update(descendants(honcho.pid))
            return checks[what]()
        return check

    def healthz() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def consuming(queue: str) -> bool:
        counts = queue_counts(fresh_vhost, queue)
        return counts is not None and counts[1] > 0

    def relay_listening() -> bool:
        with engine.connect() as connection:
            return bool(connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND query = 'LISTEN qlosync_outbox'"),
                {"db": make_url(database_url).database}))

    def metrics(port: int) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    checks = {
        "the API's /healthz": healthz,
        f"a consumer on {INBOUND}": lambda: consuming(INBOUND),
        f"a consumer on {OUTBOUND}": lambda: consuming(OUTBOUND),
        "the relay to LISTEN": relay_listening,
        "inbound metrics": lambda: metrics(base + 100),
        "outbound metrics": lambda: metrics(base + 200),
        "relay metrics": lambda: metrics(base + 300),
    }
    try:
        for what in checks:
            wait_until(running(what), timeout=90, interval=0.2, what=what)
        started = re.findall(r"(\w+)\.1 started", log())
        assert sorted(started) == sorted(PROCESSES), log()
        assert "stopped" not in log(), log()
        children = descendants(honcho.pid)
        seen.update(children)
        assert len(children) >= len(PROCESSES), children

        honcho.send_signal(signal.SIGTERM)
        honcho.wait(timeout=30)  # honcho SIGKILLs whatever is left 5 s after its SIGTERM
        wait_until(lambda: not [p for p, s in children.items() if alive(p, s)], timeout=15, interval=0.1,
                   what="every process honcho started to be gone")
        output = log()
        assert "SIGTERM received" in output, output
        for name in PROCESSES:
            assert re.search(rf"{name}\.1 stopped", output), output
        assert "SIGKILL" not in output, f"something needed SIGKILL:\n{output}"
        wait_until(lambda: not consuming(INBOUND) and not consuming(OUTBOUND), timeout=15, interval=0.1,
                   what="the workers' consumers to go away")
        assert not relay_listening()
    except BaseException:
        print(f"--- honcho's output\n{log()}")
        raise
    finally:
        if honcho.poll() is None:
            seen.update(descendants(honcho.pid))
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
        for pid, start in seen.items():  # each Procfile process leads its own process group
            if alive(pid, start):
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
        engine.dispose()
