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


UPGRADE_HINT = "run `qlosync db upgrade`"


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    return result.stderr.strip()


def test_commands_needing_the_schema_say_run_db_upgrade_on_an_unmigrated_database(db_factory):
    from qlosync.crypto import generate_secret_key

    url = db_factory(migrated=False)
    env = {"DATABASE_URL": url, "QLOSYNC_SECRET_KEY": generate_secret_key(), "K": "ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"}
    for args in (("config", "set", "--base-url", "http://127.0.0.1:9", "--api-key-env", "K"),
                 ("config", "show"), ("mappings", "import"), ("shops", "list"), ("push", "1"), ("dlq", "list")):
        result = _run(*args, **env)
        assert result.returncode == 1, (args, result.stderr)
        line = _one_line(result)
        assert line.startswith("Error: database schema is at (empty), this qlosync needs "), (args, line)
        assert line.endswith(UPGRADE_HINT), (args, line)
        assert env["K"] not in result.stderr + result.stdout


def test_alembic_and_db_current_against_a_missing_database_are_one_line(pg_admin):
    from sqlalchemy.engine import make_url

    from tests.conftest import ADMIN_URL

    url = make_url(ADMIN_URL).set(database="qlosync_no_such_database").render_as_string(hide_password=False)
    alembic = subprocess.run([str(Path(sys.executable).with_name("alembic")), "current"], capture_output=True,
                             text=True, env={**os.environ, "DATABASE_URL": url}, timeout=60,
                             cwd=Path(__file__).resolve().parents[2])
    assert alembic.returncode != 0
    assert "Traceback" not in alembic.stderr, alembic.stderr
    assert alembic.stderr.strip().count("\n") == 0, alembic.stderr  # alembic's own log line of the same error
    assert alembic.stdout.strip() == (f"FAILED: cannot reach PostgreSQL at {url}: connection failed: connection to "
                                      f"server at \"127.0.0.1\", port 5432 failed: FATAL:  database "
                                      f"\"qlosync_no_such_database\" does not exist")
    result = _run("db", "current", DATABASE_URL=url)
    assert result.returncode == 3
    assert 'database "qlosync_no_such_database" does not exist' in _one_line(result)


def test_push_of_a_reservation_that_does_not_exist_says_so(database_url):
    result = _run("push", "99999999", DATABASE_URL=database_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "reservation 99999999: does not exist in the PMS" in result.stderr
    assert "Traceback" not in result.stderr and "skipped" not in result.stdout


def test_commands_reaching_rabbitmq_name_host_vhost_and_reason_when_refused(database_url):
    from qlosync.crypto import generate_secret_key
    from tests.acceptance.refused_broker import WRONG_PASSWORD, refused_amqp_url

    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": generate_secret_key(),
           "K": "ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"}
    assert _run("config", "set", "--base-url", "http://127.0.0.1:9", "--api-key-env", "K", "--enable", **env).returncode == 0
    for case in ("missing vhost", "wrong password"):
        url, where, reason = refused_amqp_url(case)
        for args in (("sync",), ("broker", "setup"), ("dlq", "list"), ("dlq", "purge", "--all", "--yes")):
            result = _run(*args, RABBITMQ_URL=url, **env)
            assert result.returncode == 3, (case, args, result.stderr)
            line = _one_line(result)
            assert line.startswith(f"Error: cannot reach RabbitMQ at {where} ("), (case, args, line)
            assert reason in line, (case, args, line)
            assert WRONG_PASSWORD not in result.stderr + result.stdout
