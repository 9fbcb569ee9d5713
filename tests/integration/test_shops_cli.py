"""`qlosync shops`: add, list (exit 4 on attention), enable/disable, set, remove --yes, import, reset-breaker;
and `qlosync status` with an open breaker and with many shops."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import Engine, insert, select, text

from qlosync.cli import cli
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.models import QloAppsConfig, QloAppsShopGate, QloAppsSyncCursor, QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.secrets import Secret
from tests.conftest import TEST_API_KEY

OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
INTERVAL_MS = 60_000


def _shops(database_url: str, secret_key: Secret, *args: str, stdin: str | None = None) -> Result:
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
           "QLOAPPS_SYNC_INTERVAL_MS": str(INTERVAL_MS), "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    result = CliRunner().invoke(cli, ["shops", *args], input=stdin, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _synced(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        config_id = connection.scalar(select(QloAppsConfig.id).where(QloAppsConfig.name == name))
        connection.execute(insert(QloAppsSyncCursor).values(config_id=config_id,
                                                            last_successful_sync=text("now() - interval '10 seconds'")))


def _configured_long_ago(engine: Engine) -> None:
    # A shop that never synced is overdue only once it had the window to do so since it was configured.
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_config SET created_at = now() - interval '1 day'"))


def _runs(engine: Engine, name: str, statuses: list[str]) -> None:
    """Runs of the shop, the first given the newest."""
    with engine.begin() as connection:
        config_id = connection.scalar(select(QloAppsConfig.id).where(QloAppsConfig.name == name))
        for age, status in enumerate(statuses):
            connection.execute(insert(QloAppsSyncState).values(
                config_id=config_id, kind="incremental", trigger="schedule", status=status,
                started_at=text(f"now() - interval '{age + 1} minutes'"), finished_at=text("now()")))


def _open_breaker(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        config_id = connection.scalar(select(QloAppsConfig.id).where(QloAppsConfig.name == name))
        connection.execute(insert(QloAppsShopGate).values(
            config_id=config_id, failures=4, trips=2, open_until=text("now() + interval '2 minutes'"),
            last_error="QloAppsServerError: HTTP 503 from the shop", last_failure_at=text("now()")))


def test_add_list_enable_disable_set_remove(database_url, secret_key, session_factory, engine):
    added = _shops(database_url, secret_key, "add", "hotel-a", "--base-url", "http://a.test/api/", "--api-key-stdin",
                   "--max-concurrent", "2", "--max-rps", "5", "--id-hotel", "3", stdin=TEST_API_KEY + "\n")
    assert (added.exit_code, added.output.strip()) == (0, "added shop 'hotel-a' (http://a.test, sync on, 2 at once, 5/s)")
    assert TEST_API_KEY not in added.output
    assert _shops(database_url, secret_key, "add", "hotel-b", "--base-url", "http://b.test", "--api-key-stdin",
                  "--disabled", stdin=OTHER_KEY + "\n").exit_code == 0
    # A duplicate name: exit 1; a bad limit or key (bad usage): exit 2; each with one clear line
    duplicate = _shops(database_url, secret_key, "add", "hotel-a", "--base-url", "http://a.test", "--api-key-stdin",
                       stdin=TEST_API_KEY + "\n")
    assert (duplicate.exit_code, duplicate.output.strip().splitlines()[-1]) == (
        1, "Error: QloApps shop 'hotel-a' already exists (change it with `qlosync shops set`)")
    bad = _shops(database_url, secret_key, "set", "hotel-a", "--max-concurrent", "65")
    assert (bad.exit_code, bad.output.strip()) == (2, "Error: max concurrent requests must be from 1 to 64, got 65")
    short = _shops(database_url, secret_key, "add", "hotel-c", "--base-url", "http://c.test", "--api-key-stdin",
                   stdin="short-key-12\n")
    assert short.exit_code == 2 and "this one has 12" in short.output and "short-key-12" not in short.output

    # hotel-a, configured a day ago, never synced: overdue, so `list` exits 4, with hotel-b (disabled) last
    _configured_long_ago(engine)
    listed = _shops(database_url, secret_key, "list")
    assert listed.exit_code == 4, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATE"]
    assert [line.split()[:2] for line in lines[1:3]] == [["hotel-a", "overdue"], ["hotel-b", "disabled"]]
    assert lines[-1] == "2 shops: 0 breaker open, 0 failing, 1 overdue, 0 ok, 1 disabled"
    assert TEST_API_KEY not in listed.output and OTHER_KEY not in listed.output

    _synced(engine, "hotel-a")
    assert _shops(database_url, secret_key, "list").exit_code == 0
    as_json = _shops(database_url, secret_key, "list", "--json")
    body = json.loads(as_json.output)
    assert body["summary"] == {"breaker_open": 0, "failing": 0, "overdue": 0, "ok": 1, "disabled": 1}
    assert [(s["name"], s["state"], s["max_concurrent_requests"], s["api_key_set"]) for s in body["shops"]] == [
        ("hotel-a", "ok", 2, True), ("hotel-b", "disabled", 4, True)]
    assert "api_key\"" not in as_json.output and TEST_API_KEY not in as_json.output

    enabled = _shops(database_url, secret_key, "enable", "hotel-b")
    assert (enabled.exit_code, enabled.output.strip()) == (0, "sync on for 1 shop(s): hotel-b")
    assert _shops(database_url, secret_key, "list").exit_code == 4  # hotel-b, enabled, never synced
    assert _shops(database_url, secret_key, "disable", "hotel-a", "hotel-b").exit_code == 0
    unknown = _shops(database_url, secret_key, "enable", "hotel-a", "nowhere")
    assert unknown.exit_code == 1 and "'nowhere'" in unknown.output
    changed = _shops(database_url, secret_key, "set", "hotel-b", "--max-rps", "0.5", "--api-key-stdin",
                     stdin=TEST_API_KEY + "\n")
    assert changed.exit_code == 0, changed.output
    with transaction(session_factory) as session:
        a, b = (load_shop(session, KeyCipher(secret_key), n) for n in ("hotel-a", "hotel-b"))
    assert (a.sync_enabled, b.sync_enabled, b.max_requests_per_second, b.api_key.reveal()) == \
        (False, False, 0.5, TEST_API_KEY)

    refused = _shops(database_url, secret_key, "remove", "hotel-a")
    assert refused.exit_code == 1
    assert "this would delete shop 'hotel-a' with 0 reservation mapping(s)" in refused.output
    assert "--yes" in refused.output
    removed = _shops(database_url, secret_key, "remove", "hotel-a", "--yes")
    assert removed.exit_code == 0 and removed.output.startswith("removed shop 'hotel-a'")
    with transaction(session_factory) as session:
        assert list(session.scalars(select(QloAppsConfig.name))) == ["hotel-b"]


def test_import_reports_every_bad_line_then_imports_and_dry_runs(database_url, secret_key, tmp_path: Path,
                                                                session_factory):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,base_url,api_key,max_requests_per_second\n"
                   f"one,http://one.test,{TEST_API_KEY},\n"
                   "two,http://two.test,tooshort,\n"
                   f"three,http://three.test,{TEST_API_KEY},-1\n")
    failed = _shops(database_url, secret_key, "import", str(bad))
    assert failed.exit_code == 1
    assert failed.output.splitlines() == [
        "line 3: a QloApps API key has 32 characters; this one has 8",
        "line 4: max requests per second must be above 0 and at most 1000, got -1",
        f"Error: 2 error(s) in {bad}; nothing was imported"]
    good = tmp_path / "good.csv"
    good.write_text(f"name,base_url,api_key,enabled\none,http://one.test,{TEST_API_KEY},yes\n"
                    f"two,http://two.test,{OTHER_KEY},no\n")
    dry = _shops(database_url, secret_key, "import", str(good), "--dry-run")
    assert (dry.exit_code, dry.output.strip()) == (0, "would create 2 shop(s), would update 0 (dry run: nothing written)")
    with transaction(session_factory) as session:
        assert session.scalar(select(QloAppsConfig.id)) is None
    done = _shops(database_url, secret_key, "import", str(good))
    assert (done.exit_code, done.output.strip()) == (0, "created 2 shop(s), updated 0")
    again = _shops(database_url, secret_key, "import", str(good))
    assert again.output.strip() == "created 0 shop(s), updated 2"
    with transaction(session_factory) as session:
        assert sorted(session.execute(select(QloAppsConfig.name, QloAppsConfig.sync_enabled)).all()) == [
            ("one", True), ("two", False)]


def test_an_open_breaker_is_listed_first_is_a_status_problem_and_can_be_reset(database_url, secret_key, engine,
                                                                             session_factory):
    for name in ("a-fine", "z-broken"):
        _shops(database_url, secret_key, "add", name, "--base-url", f"http://{name}.test", "--api-key-stdin",
               stdin=TEST_API_KEY + "\n")
        _synced(engine, name)
    _open_breaker(engine, "z-broken")
    listed = _shops(database_url, secret_key, "list", "--attention")
    assert listed.exit_code == 4
    lines = listed.output.splitlines()
    assert len(lines) == 3 and lines[1].split()[:3] == ["z-broken", "breaker", "open"], listed.output
    assert lines[1].endswith("QloAppsServerError: HTTP 503 from the shop")
    assert lines[2] == "2 shops: 1 breaker open, 0 failing, 0 overdue, 1 ok, 0 disabled"

    status = CliRunner().invoke(cli, ["status", "--json"], env={"DATABASE_URL": database_url})
    report = json.loads(status.output)
    problem = next(p for p in report["health"]["problems"] if "circuit breaker" in p)
    assert problem.startswith("shop z-broken: circuit breaker open until 20")
    assert problem.endswith(", 4 failures in a row: QloAppsServerError: HTTP 503 from the shop")
    assert status.exit_code == 4
    assert [r["name"] for r in report["shop_rows"]] == ["z-broken", "a-fine"]
    assert report["shop_summary"]["breaker_open"] == 1

    reset = _shops(database_url, secret_key, "reset-breaker", "z-broken")
    assert (reset.exit_code, reset.output.strip()) == (0, "breaker of shop 'z-broken' closed")
    assert _shops(database_url, secret_key, "list").exit_code == 0
    again = _shops(database_url, secret_key, "reset-breaker", "z-broken")
    assert again.output.strip() == "breaker of shop 'z-broken' was already closed"
    assert _shops(database_url, secret_key, "reset-breaker", "nowhere").exit_code == 1


def test_status_with_many_shops_prints_only_those_needing_attention(database_url, secret_key, engine, tmp_path):
    csv_file = tmp_path / "many.csv"
    csv_file.write_text("name,base_url,api_key\n" + "".join(
        f"shop-{i:02d},http://s{i}.test,{TEST_API_KEY}\n" for i in range(30)))
    assert _shops(database_url, secret_key, "import", str(csv_file)).exit_code == 0
    _configured_long_ago(engine)
    for i in range(5):  # 5 synced; the 24 others without a breaker never synced in a day (overdue)
        _synced(engine, f"shop-{i:02d}")
    _open_breaker(engine, "shop-29")
    _runs(engine, "shop-00", ["succeeded", "failed", "succeeded"])
    _runs(engine, "shop-01", ["failed"])
    env = {"DATABASE_URL": database_url, "QLOAPPS_SYNC_INTERVAL_MS": str(INTERVAL_MS)}
    status = CliRunner().invoke(cli, ["status"], env=env)
    assert status.exit_code == 4
    out = status.output
    assert "runs         shop-00" not in out  # no per-shop runs with this many shops
    assert "shops        30 shops: 1 breaker open, 1 failing, 24 overdue, 4 ok, 0 disabled" in out
    table = [line for line in out.splitlines() if line.startswith("  shop-")]
    assert len(table) == 20 and table[0].split()[:3] == ["shop-29", "breaker", "open"]
    assert table[1].split()[:2] == ["shop-01", "failing"]
    assert "  … and 6 more: `qlosync shops list --attention`" in out
    assert "shop shop-29: circuit breaker open until" in out
    # The JSON still has every shop's details, each with its own runs (gathered for all shops at once)
    report = json.loads(CliRunner().invoke(cli, ["status", "--json"], env=env).output)
    details = {shop["name"]: shop for shop in report["shops"]}
    assert len(details) == 30 and len(report["shop_rows"]) == 30
    assert [r["status"] for r in details["shop-00"]["recent_runs"]] == ["succeeded", "failed", "succeeded"]
    assert [r["status"] for r in details["shop-01"]["recent_runs"]] == ["failed"]
    assert details["shop-02"]["recent_runs"] == [] and details["shop-02"]["last_run"] is None
