"""`qlosync status` (text, --json, exit codes 0 and 4) and `qlosync health --role` on the real PostgreSQL and
RabbitMQ: each unhealthy case on top of a healthy deployment."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pika
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, insert, text

from qlosync.cli import cli
from qlosync.crypto import KeyCipher
from qlosync.db import dead_letters
from qlosync.db.config_store import save_config
from qlosync.db.models import QloAppsSyncCursor, QloAppsSyncState, QlosyncProcess
from qlosync.db.session import transaction
from qlosync.ops.overdue import OVERDUE_GRACE_S, OVERDUE_INTERVALS
from qlosync.ops.status import OUTBOX_LAG_LIMIT_S
from qlosync.runtime.heartbeat import Heartbeat
from qlosync.runtime.queues import DLQ, INBOUND, OUTBOUND, SCHEDULE
from qlosync.runtime.topology import setup_topology
from qlosync.secrets import Secret
from tests.conftest import AMQP_URL, TEST_API_KEY
from tests.hotel_support import first_hotel, one_hotel, second_hotel
from tests.pms_desk import desk_for
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)
from tests.spares import Spares

SYNC_INTERVAL_MS = 60_000  # overdue after 3 * 60 s + 60 s = 4 min
HOST = socket.gethostname()


@pytest.fixture(scope="module")
def status_vhost(vhost_spares: Spares[str]) -> Iterator[str]:
    """A vhost for this module with qlosync's queues declared and empty (nothing here dead-letters)."""
    vhost = vhost_spares.take()
    url = f"{AMQP_URL}/{vhost}"
    setup_topology(url)
    yield url
    vhost_spares.throw_away(vhost)


@pytest.fixture
def healthy(session_factory, engine: Engine, secret_key: Secret, pms_environ: str) -> None:
    """An enabled shop synced a minute ago by a succeeded run, and one alive worker on every queue; the CLI
    runs of the test read the PMS of the engine's adapter."""
    with transaction(session_factory) as session:
        shop = save_config(session, KeyCipher(secret_key), base_url="http://shop.test", api_key=Secret(TEST_API_KEY),
                           sync_enabled=True)
        session.flush()
        session.add(QloAppsSyncCursor(config_id=shop.id, last_successful_sync=text("now() - interval '1 minute'")))
    _run(engine, "succeeded")
    _process(engine, "worker", [INBOUND, OUTBOUND, SCHEDULE])


def _env(database_url: str, amqp_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "RABBITMQ_URL": amqp_url, "QLOAPPS_SYNC_INTERVAL_MS": str(SYNC_INTERVAL_MS)}


def _status(database_url: str, amqp_url: str) -> tuple[Result, dict[str, Any]]:
    """The text run and the --json run; both must agree on the exit code."""
    runner = CliRunner()
    as_text = runner.invoke(cli, ["status"], env=_env(database_url, amqp_url))
    as_json = runner.invoke(cli, ["status", "--json"], env=_env(database_url, amqp_url))
    assert as_text.exception is None or isinstance(as_text.exception, SystemExit), as_text.output
    assert as_json.exit_code == as_text.exit_code, as_json.output
    return as_text, json.loads(as_json.output)


def _process(engine: Engine, role: str, queues: list[str], *, beat_ago_s: float = 1.0, interval_s: float = 10.0,
             host: str = HOST, pid: int = 4242, stopped: bool = False) -> int:
    with engine.begin() as connection:
        return connection.execute(insert(QlosyncProcess).values(
            host=host, pid=pid, role=role, queues=queues, beat_interval_s=interval_s,
            started_at=text("now() - interval '1 hour'"),
            last_beat_at=text(f"now() - make_interval(secs => {beat_ago_s})"),
            stopped_at=text("now()") if stopped else None, messages_done=7, messages_failed=1,
        ).returning(QlosyncProcess.id)).scalar_one()


def _run(engine: Engine, status: str, error: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(insert(QloAppsSyncState).values(
            config_id=connection.scalar(text("SELECT id FROM qloapps_config")), kind="incremental",
            trigger="schedule", status=status, error=error, finished_at=text("now()")))


def test_a_healthy_deployment_exits_0_and_shows_processes_queues_and_runs(healthy, engine, database_url, status_vhost):
    _process(engine, "relay", [OUTBOUND], pid=4343)
    _process(engine, "scheduler", [INBOUND, OUTBOUND], pid=4444, stopped=True)
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 0, result.output
    assert report["health"] == {"healthy": True, "problems": []}
    # The JSON has every process with its state, the queue depths and the shop's recent runs
    assert [(p["role"], p["pid"], p["state"], p["messages_done"], p["messages_failed"]) for p in report["processes"]] == [
        ("worker", 4242, "alive", 7, 1), ("relay", 4343, "alive", 7, 1), ("scheduler", 4444, "stopped", 7, 1)]
    assert report["queues"] == {INBOUND: {"ready": 0, "consumers": 0}, OUTBOUND: {"ready": 0, "consumers": 0},
                                SCHEDULE: {"ready": 0, "consumers": 0}, DLQ: {"ready": 0, "consumers": 0}}
    assert [r["status"] for r in report["shops"][0]["recent_runs"]] == ["succeeded"]
    # The text is a table like `pm2 status`, then queues, runs, the shop, and the verdict
    lines = result.output.splitlines()
    assert lines[1] == "processes    2 alive, 0 stale, 1 stopped"
    assert lines[2].split() == ["ID", "ROLE", "HOST", "PID", "STATE", "UPTIME", "LAST", "BEAT", "DONE", "FAILED",
                                "QUEUES"]
    worker_line = next(line for line in lines if " worker " in line)
    assert worker_line.split()[1:7] == ["worker", HOST, "4242", "alive", "60", "min"]
    assert worker_line.split()[-3:] == ["7", "1", f"{INBOUND},{OUTBOUND},{SCHEDULE}"]
    assert f"  {DLQ}" in result.output and "runs         default: last 1, newest first" in result.output
    assert "shop         default  http://shop.test  sync on" in result.output
    assert lines[-1] == "health       ok"


def test_a_stale_process_is_a_problem(healthy, engine, database_url, status_vhost):
    # Given a relay that beats every 10 s but last did 25 s ago (more than two periods)
    _process(engine, "relay", [OUTBOUND], beat_ago_s=25, pid=999)
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 4, result.output
    (relay,) = [p for p in report["processes"] if p["role"] == "relay"]
    assert relay["state"] == "stale"
    # The age is read when the status runs: 25 s, or a second more on a loaded machine
    (problem,) = report["health"]["problems"]
    assert problem in [f"relay 999 on {HOST} is stale: last beat {age} s ago, it beats every 10 s "
                       "(crashed, hung or cut off from PostgreSQL)" for age in (25, 26, 27)], problem
    assert "problems:\n  - relay 999 on" in result.output


def test_a_late_beat_within_two_periods_is_still_alive(healthy, engine, database_url, status_vhost):
    _process(engine, "relay", [OUTBOUND], beat_ago_s=15, pid=999)
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 0, result.output
    assert {p["state"] for p in report["processes"]} == {"alive"}


def test_no_alive_inbound_worker_while_sync_is_enabled(healthy, engine, database_url, status_vhost):
    # Given the only worker on every queue stopped, and an outbound worker alive (with the ticks)
    with engine.begin() as connection:
        connection.execute(text("UPDATE qlosync_processes SET stopped_at = now()"))
    _process(engine, "worker", [OUTBOUND, SCHEDULE], pid=5000)
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 4, result.output
    assert report["health"]["problems"] == [
        f"no alive worker consumes {INBOUND}, and sync is enabled (start one: dramatiq qlosync.actors --queues "
        f"{INBOUND} {SCHEDULE})"]
    # and a worker that does not take the scheduler's ticks is named as such
    with engine.begin() as connection:
        connection.execute(text("UPDATE qlosync_processes SET stopped_at = now()"))
    _process(engine, "worker", [INBOUND, OUTBOUND], pid=5001)
    assert _status(database_url, status_vhost)[1]["health"]["problems"] == [
        f"no alive worker consumes {SCHEDULE}, and sync is enabled (add {SCHEDULE} to every worker's --queues: "
        "the scheduler's ticks wait there)"]
    # When sync is switched off, nobody needs to consume
    assert CliRunner().invoke(cli, ["config", "set", "--disable"], env=_env(database_url, status_vhost)).exit_code == 0
    assert _status(database_url, status_vhost)[0].exit_code == 0


def test_a_failed_last_run_is_a_problem_and_the_recent_runs_are_listed(healthy, engine, database_url, status_vhost):
    _run(engine, "succeeded")
    _run(engine, "failed", error="TransientError: QloApps answered 503\ntraceback...")
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 4, result.output
    runs = report["shops"][0]["recent_runs"]
    assert [r["status"] for r in runs] == ["failed", "succeeded", "succeeded"]
    assert report["health"]["problems"] == [
        f"shop default: last run #{runs[0]['id']} (incremental) failed: TransientError: QloApps answered 503"]
    assert result.output.count("incremental/schedule") == 3


def test_an_overdue_sync_is_a_problem(healthy, engine, database_url, status_vhost):
    limit_s = OVERDUE_INTERVALS * SYNC_INTERVAL_MS / 1000 + OVERDUE_GRACE_S
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_sync_cursor SET last_successful_sync = now() - make_interval(secs => :s)"),
                           {"s": limit_s + 60})
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 4, result.output
    assert report["health"]["problems"] == ["shop default: last successful sync 5 min ago (expected within 4 min)"]


@pytest.mark.parametrize("synced_ago_s, overdue", [
    (2.5 * SYNC_INTERVAL_MS / 1000, False),  # late, but inside the window: neither calls it overdue
    (4 * SYNC_INTERVAL_MS / 1000 + 30, True),  # past 3 intervals + the grace: both do
])
def test_status_and_the_shop_list_call_the_same_shop_overdue(healthy, engine, database_url, status_vhost,
                                                            synced_ago_s, overdue):
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_sync_cursor SET last_successful_sync = now() - make_interval(secs => :s)"),
                           {"s": synced_ago_s})
    result, report = _status(database_url, status_vhost)
    (row,) = report["shop_rows"]
    assert (row["state"] == "overdue", report["shop_summary"]["overdue"]) == (overdue, int(overdue))
    assert any("last successful sync" in p for p in report["health"]["problems"]) is overdue
    assert result.exit_code == (4 if overdue else 0), result.output
    listed = CliRunner().invoke(cli, ["shops", "list", "--json"], env=_env(database_url, status_vhost))
    assert json.loads(listed.output)["shops"][0]["state"] == row["state"]


def test_a_shop_configured_a_moment_ago_is_not_overdue_before_its_first_pull(session_factory, secret_key,
                                                                             database_url, status_vhost, pms_environ):
    with transaction(session_factory) as session:
        save_config(session, KeyCipher(secret_key), base_url="http://new.test", api_key=Secret(TEST_API_KEY),
                    sync_enabled=True)
    _, report = _status(database_url, status_vhost)
    assert [row["state"] for row in report["shop_rows"]] == ["ok"]
    assert not any("never synced" in p for p in report["health"]["problems"])


def test_dead_letters_recorded_or_only_in_the_queue_are_a_problem(healthy, session_factory, database_url, fresh_vhost):
    setup_topology(fresh_vhost)
    assert _status(database_url, fresh_vhost)[0].exit_code == 0
    # Given a message in qloapps.dlq that nobody recorded yet (RabbitMQ dead-lettered it itself)
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    connection.channel().basic_publish("", DLQ, b"{}")
    connection.close()
    wait_until(lambda: _status(database_url, fresh_vhost)[1]["queues"][DLQ]["ready"] == 1, what="the DLQ message")
    result, report = _status(database_url, fresh_vhost)
    assert result.exit_code == 4
    assert report["health"]["problems"] == [f"1 dead letter(s) in {DLQ} (qlosync dlq list)"]
    # And recorded dead letters count too (the larger of the two numbers is shown)
    with transaction(session_factory) as session:
        for n in range(2):
            dead_letters.record_dead_letter(session, message_id=f"m{n}", actor_name="push_reservation",
                                            queue_name=OUTBOUND, args=[n], kwargs={}, reason="permanent",
                                            error_class="X", error_message="x", retries=0)
    result, report = _status(database_url, fresh_vhost)
    assert (result.exit_code, report["dead_letters"]) == (4, 2)
    assert report["health"]["problems"] == [f"2 dead letter(s) in {DLQ} (qlosync dlq list)"]
    assert "dead letters 2  (qlosync dlq list)" in result.output


def test_outbox_lag_over_five_minutes_is_a_problem(healthy, engine, database_url, status_vhost):
    desk = desk_for(engine)
    desk.unsent_change(age_s=4 * 60)
    assert _status(database_url, status_vhost)[0].exit_code == 0  # behind, but within the limit
    desk.age_unsent_changes(age_s=OUTBOX_LAG_LIMIT_S + 60)
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 4
    assert report["health"]["problems"] == [
        "outbox: 1 unsent PMS change(s), the oldest 6 min old (is `qlosync relay` running?)"]


def test_unreachable_rabbitmq_is_a_problem_not_a_crash(healthy, database_url):
    result, report = _status(database_url, "amqp://guest:guest@127.0.0.1:1/%2F")
    assert result.exit_code == 4, result.output
    assert report["rabbitmq"]["reachable"] is False and report["queues"] == {}
    (problem,) = report["health"]["problems"]
    assert problem.startswith("RabbitMQ unreachable: cannot reach RabbitMQ at 127.0.0.1:1/%2F")
    assert "queues       unknown: cannot reach RabbitMQ" in result.output
    assert len(report["processes"]) == 1 and report["shops"][0]["sync_enabled"]  # the rest is still reported


def test_health_role_looks_for_an_alive_process_on_this_host(settings, engine, database_url):
    runner = CliRunner()

    def health(role: str) -> Result:
        return runner.invoke(cli, ["health", "--role", role], env={"DATABASE_URL": database_url})

    def said(result: Result) -> str:
        # The command's one line is the last: CliRunner also captures what the heartbeat thread logs meanwhile.
        return result.output.strip().splitlines()[-1]

    # Nothing registered: exit 1 with one line
    missing = health("relay")
    assert (missing.exit_code, said(missing)) == (1, f"no alive relay on {HOST} (none registered)")
    # A real relay heartbeat on this host: exit 0
    heartbeat = Heartbeat(settings.with_(heartbeat_s=0.5), role="relay")
    heartbeat.start()
    try:
        wait_until(lambda: heartbeat.row_id, what="the relay's registration")
        alive = health("relay")
        assert alive.exit_code == 0, alive.output
        assert said(alive).startswith(f"relay alive on {HOST}: pid ")
        # A scheduler alive on another host, or stale on this one, does not count here
        _process(engine, "scheduler", [INBOUND], host="elsewhere")
        _process(engine, "scheduler", [INBOUND], beat_ago_s=60, pid=31337)
        elsewhere = health("scheduler")
        assert elsewhere.exit_code == 1
        assert said(elsewhere) in [f"no alive scheduler on {HOST} (last seen: pid 31337 stale, beat {age} ago)"
                                            for age in ("60 s", "61 s", "62 s", "1 min")]
    finally:
        heartbeat.stop()
    # Once stopped, the relay is not alive any more
    assert health("relay").exit_code == 1
    assert runner.invoke(cli, ["health", "--role", "cron"], env={"DATABASE_URL": database_url}).exit_code == 2


def test_a_database_without_the_schema_is_unhealthy_not_a_traceback(db_factory):
    url = db_factory(migrated=False)
    status = CliRunner().invoke(cli, ["status"], env={"DATABASE_URL": url})
    assert status.exit_code == 4, status.output
    assert "problems:\n  - database schema is at (empty), this qlosync needs" in status.output
    health = CliRunner().invoke(cli, ["health", "--role", "worker"], env={"DATABASE_URL": url})
    assert health.exit_code == 1 and isinstance(health.exception, SystemExit)
    assert health.output.strip() == f"no alive worker on {HOST} (no heartbeats table: run `qlosync db upgrade`)"


def test_a_skipped_last_run_shows_as_a_skip_not_as_the_shops_last_error(healthy, engine, database_url, status_vhost):
    # Given the newest run skipped because another pull held the shop (e.g. one killed with -9), and the
    # shop overdue, so `shops list` says why it needs attention
    _run(engine, "skipped", error="another pull of this shop is running")
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_sync_cursor SET last_successful_sync = now() - interval '1 hour'"))
    result, report = _status(database_url, status_vhost)
    # Then status names it a skip, never the last error
    assert "last error" not in result.output, result.output
    assert "  last run              skipped: another pull of this shop is running" in result.output
    assert not any("another pull" in problem for problem in report["health"]["problems"])
    # and `shops list` has no last run error for it, in JSON or in its table
    env = _env(database_url, status_vhost)
    listed = CliRunner().invoke(cli, ["shops", "list", "--json"], env=env)
    (row,) = json.loads(listed.output)["shops"]
    assert row["last_run_status"] == "skipped" and row["last_run_error"] is None
    table = CliRunner().invoke(cli, ["shops", "list"], env=env)
    assert "another pull" not in table.output, table.output


def test_status_shows_the_pms_hotel_and_a_shop_without_one_in_a_pms_of_several_is_a_problem(
        healthy, engine, database_url, status_vhost, secret_key, session_factory):
    # One hotel: the shop needs none set, and the status says which one it syncs with
    only = first_hotel(engine).id
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 0, result.output
    assert f"  pms hotel             {only} (the PMS's only hotel)" in result.output.splitlines()
    (shop,) = report["shops"]
    assert (shop["pms_hotel_id"], shop["effective_pms_hotel_id"], shop["pms_hotel_problem"]) == (None, only, None)
    assert (report["shop_rows"][0]["pms_hotel_id"], report["shop_rows"][0]["effective_pms_hotel_id"]) == (None, only)
    # A second hotel: the shop that names none is a problem saying what to do (exit 4)
    b = second_hotel(engine)
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 4, result.output
    problem = (f"shop default: no PMS hotel set, and the PMS has 2 (hotels: {one_hotel(engine)}, {b} (B)): set one with "
               "`qlosync shops set default --pms-hotel ID`")
    assert report["health"]["problems"] == [problem]
    assert "  pms hotel             none set" in result.output.splitlines()
    assert f"  - {problem}" in result.output.splitlines()
    # Given its hotel, it is healthy again and shows it
    with transaction(session_factory) as session:
        save_config(session, KeyCipher(secret_key), pms_hotel_id=b)
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 0, result.output
    assert f"  pms hotel             {b}" in result.output.splitlines()
    assert (report["shops"][0]["pms_hotel_id"], report["shops"][0]["effective_pms_hotel_id"]) == (b, b)


def test_a_shop_naming_a_hotel_the_pms_no_longer_has_is_a_problem_unless_disabled(
        healthy, engine, database_url, status_vhost, secret_key, session_factory):
    b = second_hotel(engine)
    with transaction(session_factory) as session:
        save_config(session, KeyCipher(secret_key), pms_hotel_id=b)
    desk_for(engine).delete_hotel(b)  # the PMS drops the (empty) hotel behind qlosync's back
    result, report = _status(database_url, status_vhost)
    assert result.exit_code == 4, result.output
    assert report["health"]["problems"] == [
        f"shop default: PMS hotel '{b}' is not in the PMS (hotels: {one_hotel(engine)}): set another with "
        "`qlosync shops set default --pms-hotel ID`"]
    assert f"  pms hotel             {b} (not in the PMS)" in result.output.splitlines()
    # A disabled shop gets no pulls: its hotel is no problem until it is switched on again
    with transaction(session_factory) as session:
        save_config(session, KeyCipher(secret_key), sync_enabled=False)
    _, report = _status(database_url, status_vhost)
    assert not any("PMS hotel" in p for p in report["health"]["problems"]), report["health"]
