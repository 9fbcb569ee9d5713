"""A shop whose stored configuration cannot work: one failed run with the error, then no more slots.

Before, every scheduled pull of such a shop raised ConfigurationError and dead-lettered (25 dead letters in two
minutes at a 5 s interval) while the shop only showed "overdue" with no error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from qlosync.cli import cli
from qlosync.crypto import generate_secret_key
from qlosync.db.models import QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.runtime.context import Runtime
from qlosync.secrets import Secret
from qlosync.sync.inbound import jobs
from tests.conftest import TEST_API_KEY

MINUTE = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
UNREACHABLE_AMQP = "amqp://guest:guest@127.0.0.1:1/%2F"  # status reports it; the shop part is what counts here


@pytest.fixture
def runtime(settings, shop):  # type: ignore[no-untyped-def]
    built = Runtime.build(settings.with_(sync_interval_ms=15_000))
    yield built
    built.close()


def _slots(runtime: Runtime) -> list[str]:
    sent: list[str] = []
    jobs.tick(runtime, lambda name, slot, delay, kind="incremental": sent.append(name), now=MINUTE)
    return sent


def _scheduled_pull(runtime: Runtime):  # type: ignore[no-untyped-def]
    return jobs.pull(runtime, "default", kind="incremental", trigger="schedule",
                     slot_at=datetime.now(UTC).isoformat(), retry_booking=print)


def _cli(settings, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": settings.database_url, "QLOSYNC_SECRET_KEY": settings.secret_key.reveal(),
           "RABBITMQ_URL": UNREACHABLE_AMQP, "QLOAPPS_SYNC_INTERVAL_MS": "15000"}
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def _shown(settings) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """The default shop as `qlosync status --json` and as `qlosync shops list --json` show it."""
    status = json.loads(_cli(settings, "status", "--json").output)
    (listed,) = json.loads(_cli(settings, "shops", "list", "--json").output)["shops"]
    return status, listed


def test_credentials_in_the_base_url_fail_the_run_show_the_error_and_stop_the_slots(
        runtime, settings, engine, session_factory, simulator, shop):
    # Given the shop's base URL holding credentials (as an older qlosync stored it)
    host = simulator.base_url.split("://", 1)[1]
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_config SET base_url = :url"), {"url": f"http://admin:hunter2@{host}"})
    assert _slots(runtime) == ["default"] * 4
    # When its scheduled pull runs, it is a failed run (not a dead letter: nothing raises)
    report = _scheduled_pull(runtime)
    assert report is not None and report.status == "failed"
    with transaction(session_factory) as session:
        (run,) = session.scalars(select(QloAppsSyncState)).all()
    assert run.status == "failed" and run.trigger == "schedule"
    assert run.error.startswith("ConfigurationError: QloApps URL must not contain credentials")
    # Then status and shops list show that error
    status, listed = _shown(settings)
    (problem,) = [p for p in status["health"]["problems"] if p.startswith("shop default")]
    assert problem.startswith(f"shop default: last run #{run.id} (incremental) failed: ConfigurationError: QloApps URL "
                              f"must not contain credentials")
    assert status["shops"][0]["last_run"]["error"] == run.error
    assert listed["state"] == "failing" and listed["last_run_error"] == run.error
    # and none of them shows the credentials of the stored URL
    shown = json.dumps(status) + json.dumps(listed) + _cli(settings, "config", "show").output
    assert "hunter2" not in shown and f"http://***@{host}" in shown
    # and the scheduler sends the shop no further slot
    assert _slots(runtime) == []
    # until its configuration is changed (a new URL comes with the key: it is sent only where it was stored)
    result = _cli(settings, "config", "set", "--base-url", simulator.base_url, "--api-key-stdin", input=TEST_API_KEY)
    assert result.exit_code == 0, result.output
    assert _slots(runtime) == ["default"] * 4


def test_a_key_that_cannot_be_decrypted_stops_the_slots_until_shops_set(settings, session_factory, shop):
    # Given workers whose QLOSYNC_SECRET_KEY cannot decrypt the stored key
    wrong = Runtime.build(settings.with_(sync_interval_ms=15_000, secret_key=Secret(generate_secret_key())))
    try:
        report = _scheduled_pull(wrong)
        assert report is not None and report.status == "failed"
        with transaction(session_factory) as session:
            (run,) = session.scalars(select(QloAppsSyncState)).all()
        assert run.status == "failed" and run.error.startswith("SecretKeyError: ")
        assert TEST_API_KEY not in run.error
        _status, listed = _shown(settings)
        assert listed["last_run_error"] == run.error
        assert _slots(wrong) == []
        # `shops set` changes the configuration: the shop gets its slots again
        result = _cli(settings, "shops", "set", "default", "--max-rps", "5")
        assert result.exit_code == 0, result.output
        assert _slots(wrong) == ["default"] * 4
    finally:
        wrong.close()


def test_a_pull_of_a_shop_removed_meanwhile_is_dropped_not_dead_lettered(runtime, session_factory):
    report = jobs.pull(runtime, "gone", kind="incremental", trigger="schedule",
                       slot_at=datetime.now(UTC).isoformat(), retry_booking=print)
    assert report is None
    with transaction(session_factory) as session:
        assert session.scalars(select(QloAppsSyncState)).all() == []
