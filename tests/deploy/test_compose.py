"""docker-compose.yml as Compose itself reads it: `docker-compose config` (no Docker engine needed).

The tool is Debian's docker-compose (v1.29), installed by scripts/install-tools (called from .ci/run).
Without it these tests fail with that instruction; they never skip.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.entry_points import ROOT, check_command, dramatiq_shutdown_ms

COMPOSE_FILE = ROOT / "docker-compose.yml"
FAKE_SECRET = "fake-secret-key-for-compose-config-only="
FAKE_TOKEN = "fake-api-token-for-compose-config-only"
QLOSYNC_SERVICES = {"api", "inbound-worker", "outbound-worker", "relay", "scheduler"}
ONE_SHOT = {"migrate"}
ALL_SERVICES = QLOSYNC_SERVICES | ONE_SHOT | {"postgres", "rabbitmq"}
HEALTH_ROLES = {"inbound-worker": "worker", "outbound-worker": "worker", "relay": "relay", "scheduler": "scheduler"}


def compose(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with exactly *env* as the variables (an empty --env-file: no developer's .env)."""
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail("docker-compose is not installed: run scripts/install-tools "
                    "(or `apt-get install -y --no-install-recommends docker-compose`)")
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "COMPOSE_"))}
    return subprocess.run([executable, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
                          env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = compose(tmp_path_factory.mktemp("compose"), QLOSYNC_SECRET_KEY=FAKE_SECRET, QLOSYNC_API_TOKEN=FAKE_TOKEN)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def test_the_services_are_all_there(config):
    assert set(config["services"]) == ALL_SERVICES


def test_long_running_services_restart_and_have_healthchecks(config):
    for name, service in config["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", f"{name} is one-shot: it must not be restarted"
            continue
        assert service.get("restart") in ("always", "unless-stopped"), f"{name}: restart policy {service.get('restart')!r}"
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_healthchecks_ask_the_right_question(config):
    services = config["services"]
    for name, role in HEALTH_ROLES.items():
        test = services[name]["healthcheck"]["test"]
        assert test == ["CMD", "qlosync", "health", "--role", role], f"{name}: healthcheck {test}"
        check_command(test[1:], where=f"{name} healthcheck")
    assert "http://127.0.0.1:5000/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "rabbitmq-diagnostics" in services["rabbitmq"]["healthcheck"]["test"]


def test_the_api_healthcheck_passes_on_200_and_fails_otherwise(config):
    """The API's one-liner, run for real against a stand-in server (its port swapped for a free one)."""
    test = config["services"]["api"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    status = {"code": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(status["code"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        script = test[3].replace("127.0.0.1:5000", f"127.0.0.1:{server.server_address[1]}")
        assert script != test[3]
        assert subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30).returncode == 0
        status["code"] = 503
        assert subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30).returncode != 0
    finally:
        server.shutdown()
        server.server_close()
    # and with nothing listening at all
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    script = test[3].replace("127.0.0.1:5000", f"127.0.0.1:{closed}")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30).returncode != 0


def test_commands_are_the_real_entry_points(config):
    services = config["services"]
    assert services["api"]["command"] == ["qlosync", "api", "--host", "0.0.0.0", "--port", "5000"]
    assert services["relay"]["command"] == ["qlosync", "relay"]
    assert services["scheduler"]["command"] == ["periodiq", "qlosync.schedule"]
    for name, queue in (("inbound-worker", "qloapps.inbound"), ("outbound-worker", "qloapps.outbound")):
        command = services[name]["command"]
        assert command[:2] == ["dramatiq", "qlosync.actors"], command
        assert command[command.index("--queues") + 1] == queue, command
    for name in QLOSYNC_SERVICES | ONE_SHOT:
        check_command(services[name]["command"], where=f"compose service {name}")


def test_inbound_worker_runs_two_replicas(config):
    assert config["services"]["inbound-worker"]["deploy"]["replicas"] == 2
    assert config["services"]["outbound-worker"].get("deploy", {}).get("replicas", 1) == 1


def test_everything_waits_for_the_migration(config):
    for name in QLOSYNC_SERVICES:
        depends = config["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    check_command(config["services"]["migrate"]["command"], where="compose service migrate")


def test_the_api_requires_the_token_and_stays_on_loopback(config, tmp_path):
    api = config["services"]["api"]
    assert api["environment"]["QLOSYNC_API_TOKEN"] == FAKE_TOKEN
    published = [str(p) for p in api["ports"]]
    assert published and all(p.startswith("127.0.0.1:") for p in published), published
    assert any(re.fullmatch(r"127\.0\.0\.1:5000:5000(/tcp)?", p) for p in published), published
    # Only the API gets the token.
    for name in QLOSYNC_SERVICES - {"api"}:
        assert "QLOSYNC_API_TOKEN" not in config["services"][name]["environment"], name
    # No token: Compose refuses the whole file, naming the variable.
    result = compose(tmp_path, QLOSYNC_SECRET_KEY=FAKE_SECRET)
    assert result.returncode != 0
    assert "QLOSYNC_API_TOKEN" in result.stderr


def test_compose_refuses_to_run_without_the_secret_key(tmp_path):
    result = compose(tmp_path, QLOSYNC_API_TOKEN=FAKE_TOKEN)
    assert result.returncode != 0
    assert "QLOSYNC_SECRET_KEY" in result.stderr


def test_environment_metrics_and_time_zone(config):
    services = config["services"]
    for name in QLOSYNC_SERVICES | ONE_SHOT:
        env = services[name]["environment"]
        assert env["TZ"] == "UTC", name
        assert env["QLOSYNC_SECRET_KEY"] == FAKE_SECRET, name
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:" in env["DATABASE_URL"], name
        assert "@rabbitmq:" in env["RABBITMQ_URL"], name
    for name in HEALTH_ROLES:
        env = services[name]["environment"]
        assert int(env["QLOSYNC_METRICS_PORT"]) > 0, name
        assert env["QLOSYNC_METRICS_HOST"] == "0.0.0.0", name
        assert str(env["QLOSYNC_METRICS_PORT"]) in [str(p) for p in services[name].get("expose", [])], name


def test_workers_get_their_graceful_shutdown_before_sigkill(config):
    for name in ("inbound-worker", "outbound-worker"):
        service = config["services"][name]
        grace_s = _seconds(service.get("stop_grace_period", "10s"))
        assert grace_s * 1000 > dramatiq_shutdown_ms(service["command"]), f"{name}: {grace_s} s"


def _seconds(duration: str) -> float:
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", str(duration)):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    assert total > 0, f"cannot read duration {duration!r}"
    return total


def test_the_pull_interval_reaches_the_scheduler_and_everything_that_measures_against_it(tmp_path):
    # Set once (in .env or the shell), it must reach the scheduler (whose ticks carry it) and the same value
    # everything else: the API's status (overdue) and the workers (which warn on a mismatch).
    result = compose(tmp_path, QLOSYNC_SECRET_KEY=FAKE_SECRET, QLOSYNC_API_TOKEN=FAKE_TOKEN,
                     QLOAPPS_SYNC_INTERVAL_MS="600000")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {name: str(services[name]["environment"].get("QLOAPPS_SYNC_INTERVAL_MS")) for name in QLOSYNC_SERVICES} \
        == dict.fromkeys(QLOSYNC_SERVICES, "600000")
