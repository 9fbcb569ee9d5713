"""The installed `qlosync` command, run as a process: bad settings give one line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

QLOSYNC = str(Path(sys.executable).with_name("qlosync"))


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DATABASE_URL"))}
    full_env.update(env)
    return subprocess.run([QLOSYNC, *args], capture_output=True, text=True, env=full_env, timeout=60)


def test_non_numeric_interval_is_one_clear_line():
    result = _run("status", QLOAPPS_SYNC_INTERVAL_MS="five minutes")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: QLOAPPS_SYNC_INTERVAL_MS must be a whole number of milliseconds, got 'five minutes'"


def test_unreachable_database_exits_3_with_one_line():
    result = _run("status", DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    assert result.returncode == 3
    assert result.stderr.startswith("Error: cannot reach PostgreSQL at postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert result.stderr.strip().count("\n") == 0


def test_missing_secret_key_when_reading_the_api_key(database_url):
    result = _run("config", "set", "--base-url", "http://x.test", "--api-key-env", "K", DATABASE_URL=database_url,
                  K="ABCDEFGHIJKLMNOPQRSTUVWXYZ123456")
    assert result.returncode == 1
    assert "QLOSYNC_SECRET_KEY is not set" in result.stderr
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZ123456" not in result.stderr + result.stdout


def test_db_upgrade_on_an_empty_database(db_factory):
    url = db_factory(migrated=False)
    result = _run("db", "upgrade", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    current = _run("db", "current", DATABASE_URL=url)
    assert "(run: qlosync db upgrade)" not in current.stdout


def test_sync_with_rabbitmq_down_exits_3_with_one_line(database_url):
    # Given a configured, enabled shop
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": "", "K": "ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"}
    from qlosync.crypto import generate_secret_key

    env["QLOSYNC_SECRET_KEY"] = generate_secret_key()
    assert _run("config", "set", "--base-url", "http://127.0.0.1:9", "--api-key-env", "K", "--enable", **env).returncode == 0
    # When a pull is enqueued while RabbitMQ is unreachable
    result = _run("sync", RABBITMQ_URL="amqp://guest:guest@127.0.0.1:1/%2F", **env)
    # Then one line, exit code 3, and no key anywhere
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("Error: cannot reach RabbitMQ")
    assert result.stderr.strip().count("\n") == 0
    assert env["K"] not in result.stderr + result.stdout
