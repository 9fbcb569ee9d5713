"""Managing many shops (qlosync.ops.shops) on the real PostgreSQL: add, change, remove, CSV import, and the
per-shop status in attention order."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select, text

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.models import (
    QloAppsConfig,
    QloAppsReservationMapping,
    QloAppsShopGate,
    QloAppsSyncCursor,
    QloAppsSyncState,
)
from qlosync.db.session import transaction
from qlosync.ops import shops
from qlosync.ops.shops import DuplicateShopError, InvalidShopError, ShopImportError, UnknownShopError
from qlosync.secrets import Secret
from tests.conftest import TEST_API_KEY

OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
HEADER = "name,base_url,api_key,enabled,id_hotel,max_concurrent_requests,max_requests_per_second,conflict_strategy"


def _add(session_factory, settings, name: str, **kwargs) -> int:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        kwargs.setdefault("base_url", f"http://{name}.test")
        kwargs.setdefault("api_key", Secret(TEST_API_KEY))
        return shops.add_shop(session, settings, name, **kwargs).id


def _names(session_factory) -> list[str]:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return sorted(session.scalars(select(QloAppsConfig.name)))


def _run(engine: Engine, config_id: int, status: str, error: str | None = None, ago_s: int = 60) -> None:
    with engine.begin() as connection:
        connection.execute(insert(QloAppsSyncState).values(
            config_id=config_id, kind="incremental", trigger="schedule", status=status, error=error,
            started_at=text(f"now() - make_interval(secs => {ago_s})"), finished_at=text("now()")))


def _synced(engine: Engine, config_id: int, ago_s: int = 60) -> None:
    with engine.begin() as connection:
        connection.execute(insert(QloAppsSyncCursor).values(
            config_id=config_id, last_successful_sync=text(f"now() - make_interval(secs => {ago_s})")))


def _configured_long_ago(engine: Engine, config_id: int) -> None:
    # A shop that never synced is overdue only once it had the window to do so since it was configured.
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_config SET created_at = now() - interval '1 day' WHERE id = :id"),
                           {"id": config_id})


def _open_breaker(engine: Engine, config_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(insert(QloAppsShopGate).values(
            config_id=config_id, failures=3, trips=1, open_until=text("now() + interval '5 minutes'"),
            last_error="QloAppsTimeout: read timeout", last_failure_at=text("now()")))


def test_add_update_enable_disable_remove(session_factory, settings, secret_key, engine):
    config_id = _add(session_factory, settings, "alpha", max_concurrent_requests=8, max_requests_per_second=2.5,
                     id_hotel=3)
    _add(session_factory, settings, "beta", enabled=False)
    with transaction(session_factory) as session:
        alpha = load_shop(session, KeyCipher(secret_key), "alpha")
        shops.update_shop(session, settings, "beta", base_url="http://beta.example.test/api/", api_key=Secret(OTHER_KEY),
                          max_requests_per_second=10)
        beta = load_shop(session, KeyCipher(secret_key), "beta")
    assert (alpha.sync_enabled, alpha.max_concurrent_requests, alpha.max_requests_per_second, alpha.id_hotel) == \
        (True, 8, 2.5, 3)
    assert (beta.sync_enabled, beta.base_url, beta.api_key.reveal(), beta.max_requests_per_second,
            beta.max_concurrent_requests) == (False, "http://beta.example.test", OTHER_KEY, 10, 4)

    with transaction(session_factory) as session:
        assert shops.set_enabled(session, ["alpha", "beta"], False) == ["alpha", "beta"]
    with transaction(session_factory) as session:
        assert not any(r.enabled for r in shops.shop_status(session))
        # An unknown name changes nothing, not even the known ones
        with pytest.raises(UnknownShopError, match="'nowhere'"):
            shops.set_enabled(session, ["alpha", "nowhere"], True)
    with transaction(session_factory) as session:
        assert [r.enabled for r in shops.shop_status(session)] == [False, False]

    # Removing says what went with it
    _run(engine, config_id, "succeeded")
    _run(engine, config_id, "failed", "boom")
    with transaction(session_factory) as session:
        session.add(QloAppsReservationMapping(config_id=config_id, qloapps_order_id=77, origin="qloapps"))
    with transaction(session_factory) as session:
        removed = shops.remove_shop(session, "alpha")
    assert (removed.runs, removed.reservation_mappings) == (2, 1)
    assert _names(session_factory) == ["beta"]
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(QloAppsSyncState)) == 0
        with pytest.raises(UnknownShopError):
            shops.remove_shop(session, "alpha")


def test_duplicate_names_and_bad_settings_are_refused_with_readable_messages(session_factory, settings):
    _add(session_factory, settings, "alpha")
    with pytest.raises(DuplicateShopError, match="'alpha' already exists"):
        _add(session_factory, settings, "alpha")
    cases = [
        ({"max_concurrent_requests": 0}, "max concurrent requests must be from 1 to 64, got 0"),
        ({"max_concurrent_requests": 65}, "from 1 to 64, got 65"),
        ({"max_requests_per_second": 0}, "above 0 and at most 1000, got 0"),
        ({"max_requests_per_second": 1000.5}, "at most 1000, got 1000.5"),
        ({"max_requests_per_second": float("nan")}, "max requests per second"),
        ({"api_key": Secret("short-key-12")}, "a QloApps API key has 32 characters; this one has 12"),
        ({"base_url": "ftp://x.test"}, "must start with http:// or https://"),
        ({"id_hotel": 0}, "hotel id must be from 1 to 2147483647, got 0"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidShopError, match=message.replace(".", r"\.").replace("/", "/")):
            _add(session_factory, settings, "gamma", **kwargs)
    with pytest.raises(InvalidShopError, match="1 to 64 letters"):
        _add(session_factory, settings, "has space")
    with transaction(session_factory) as session, pytest.raises(InvalidShopError, match="got 100"):
        shops.update_shop(session, settings, "alpha", max_concurrent_requests=100)
    assert _names(session_factory) == ["alpha"]


def test_csv_import_creates_and_upserts_only_the_given_cells(session_factory, settings, secret_key):
    _add(session_factory, settings, "existing", id_hotel=5, max_concurrent_requests=7)
    csv_text = (f"{HEADER}\n"
                f"new-one,http://new.test/api/,{TEST_API_KEY},no,2,3,1.5,manual\n"
                f"existing,,,,,,9,\n"
                f"\n"
                f"new-two,https://two.test,{OTHER_KEY},,,,,\n")
    with transaction(session_factory) as session:
        report = shops.import_csv(session, settings, csv_text)
    assert (report.created, report.updated, report.dry_run) == (["new-one", "new-two"], ["existing"], False)
    cipher = KeyCipher(secret_key)
    with transaction(session_factory) as session:
        one, existing, two = (load_shop(session, cipher, n) for n in ("new-one", "existing", "new-two"))
    assert (one.base_url, one.sync_enabled, one.id_hotel, one.max_concurrent_requests, one.max_requests_per_second,
            one.conflict_strategy, one.api_key.reveal()) == ("http://new.test", False, 2, 3, 1.5, "manual", TEST_API_KEY)
    # Only the non-empty cell changed the existing shop
    assert (existing.base_url, existing.id_hotel, existing.max_concurrent_requests, existing.max_requests_per_second,
            existing.api_key.reveal()) == ("http://existing.test", 5, 7, 9.0, TEST_API_KEY)
    # A new shop without `enabled` is on, with the default limits
    assert (two.sync_enabled, two.max_concurrent_requests, two.max_requests_per_second) == (True, 4, 25.0)


def test_csv_with_several_bad_lines_reports_all_and_writes_nothing(session_factory, settings):
    csv_text = (f"{HEADER}\n"
                f"ok-shop,http://ok.test,{TEST_API_KEY},,,,,\n"          # line 2: fine
                f"bad key,http://x.test,short-key-12,maybe,,,,\n"        # line 3: name, key, enabled
                f"limits,http://x.test,{TEST_API_KEY},,,0,2000,\n"       # line 4: both limits
                f"ok-shop,http://ok.test,{TEST_API_KEY},,,,,\n"          # line 5: duplicate of line 2
                f"nokey,http://x.test,,,,,,\n"                           # line 6: new shop without key
                f"toofew,http://x.test\n"                                # line 7: wrong field count
                f"strat,ftp://x.test,{TEST_API_KEY},,abc,,,sometimes\n")  # line 8: url, hotel, strategy
    with transaction(session_factory) as session, pytest.raises(ShopImportError) as caught:
        shops.import_csv(session, settings, csv_text)
    errors = caught.value.errors
    assert [e.split(":")[0] for e in errors] == ["line 3"] * 3 + ["line 4"] * 2 + ["line 5", "line 6", "line 7"] + \
        ["line 8"] * 3, errors
    assert "line 3: a QloApps API key has 32 characters; this one has 12" in errors
    assert "line 5: shop 'ok-shop' is already on line 2" in errors
    assert "line 6: new shop 'nokey' needs a base_url and an api_key" in errors
    assert "short-key-12" not in str(caught.value) and TEST_API_KEY not in str(caught.value)
    assert _names(session_factory) == []


def test_csv_header_problems_and_dry_run(session_factory, settings):
    with transaction(session_factory) as session, pytest.raises(ShopImportError) as caught:
        shops.import_csv(session, settings, "name,base_url,colour\nx,http://x.test,red\n")
    assert caught.value.errors == ["line 1: unknown column(s) 'colour' (known: name, base_url, api_key, enabled, "
                                   "id_hotel, pms_hotel_id, max_concurrent_requests, max_requests_per_second, "
                                   "conflict_strategy)",
                                   "line 1: missing required column(s) api_key"]
    # A file without its header row, or with the columns swapped, never shows the key in a message
    for text_ in (f"x,http://x.test,{TEST_API_KEY}\n", f"api_key,base_url,name\nx,http://x.test,{TEST_API_KEY}\n"):
        with transaction(session_factory) as session, pytest.raises(ShopImportError) as caught:
            shops.import_csv(session, settings, text_)
        assert TEST_API_KEY.lower() not in str(caught.value).lower(), caught.value
    _add(session_factory, settings, "old")
    with transaction(session_factory) as session:
        report = shops.import_csv(session, settings, f"name,base_url,api_key\nnew,http://n.test,{TEST_API_KEY}\n"
                                                     f"old,http://changed.test,{TEST_API_KEY}\n", dry_run=True)
    assert (report.created, report.updated, report.dry_run) == (["new"], ["old"], True)
    assert _names(session_factory) == ["old"]
    with transaction(session_factory) as session:
        assert session.scalar(select(QloAppsConfig.base_url)) == "http://old.test"


def test_shop_status_puts_attention_first_in_the_exact_order(session_factory, settings, engine):
    # Names run against the expected order, so sorting by name alone would fail
    ids = {name: _add(session_factory, settings, name, enabled=name != "a-off")
           for name in ("a-off", "b-ok", "c-never", "d-failing", "e-breaker")}
    _configured_long_ago(engine, ids["c-never"])
    _open_breaker(engine, ids["e-breaker"])
    _synced(engine, ids["e-breaker"])
    _run(engine, ids["d-failing"], "failed", "QloAppsServerError: HTTP 500\ntraceback...")
    _synced(engine, ids["d-failing"])
    _run(engine, ids["b-ok"], "succeeded")
    _synced(engine, ids["b-ok"])
    _run(engine, ids["a-off"], "failed", "old failure")  # disabled wins: its history is not news
    with transaction(session_factory) as session:
        rows = shops.shop_status(session, sync_interval_ms=60_000)
    assert [(r.name, r.state, r.attention) for r in rows] == [
        ("e-breaker", "breaker_open", 0), ("d-failing", "failing", 1), ("c-never", "overdue", 2), ("b-ok", "ok", 3),
        ("a-off", "disabled", 4)]
    breaker, failing, never, ok = rows[:4]
    assert breaker.failures == 3 and breaker.open_until is not None and breaker.last_error.startswith("QloAppsTimeout")
    assert (failing.last_run_status, failing.last_run_error.splitlines()[0]) == ("failed", "QloAppsServerError: HTTP 500")
    assert never.last_successful_sync is None and never.seconds_since_successful_sync is None
    assert 55 <= ok.seconds_since_successful_sync <= 120 and ok.api_key_set
    assert shops.summary_line(rows) == "5 shops: 1 breaker open, 1 failing, 1 overdue, 1 ok, 1 disabled"
    # Older than three intervals plus the grace minute is overdue (qlosync.ops.overdue), not before
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_sync_cursor SET last_successful_sync = now() - interval '230 seconds' "
                                "WHERE config_id = :id"), {"id": ids["b-ok"]})
    with transaction(session_factory) as session:
        assert shops.shop_status(session, sync_interval_ms=60_000, names=["b-ok"])[0].state == "ok"
        assert shops.shop_status(session, sync_interval_ms=50_000, names=["b-ok"])[0].state == "overdue"
    # A breaker whose time is up (the trial is due) no longer counts as open, but its failures do
    with engine.begin() as connection:
        connection.execute(text("UPDATE qloapps_shop_gate SET open_until = now() - interval '1 second'"))
    with transaction(session_factory) as session:
        row = shops.shop_status(session, sync_interval_ms=60_000, names=["e-breaker"])[0]
    assert (row.state, row.open_until) == ("failing", None)
    with transaction(session_factory) as session:
        assert shops.reset_shop_breaker(engine, session, "e-breaker") is True
    with transaction(session_factory) as session:
        assert shops.shop_status(session, sync_interval_ms=60_000, names=["e-breaker"])[0].state == "ok"


def test_a_thousand_shops_import_and_status_quickly(session_factory, settings, engine):
    lines = [HEADER] + [f"shop-{i:04d},https://hotel{i}.example.test,{TEST_API_KEY},{'no' if i % 100 == 0 else 'yes'},"
                        f"{i % 7 + 1},{i % 64 + 1},{(i % 50) + 0.5},qloapps_wins" for i in range(1000)]
    started = time.perf_counter()
    with transaction(session_factory) as session:
        report = shops.import_csv(session, settings, "\n".join(lines) + "\n")
    imported_s = time.perf_counter() - started
    assert len(report.created) == 1000 and report.updated == []
    # A second import of the same file updates all of them
    started = time.perf_counter()
    with transaction(session_factory) as session:
        again = shops.import_csv(session, settings, "\n".join(lines) + "\n")
    reimported_s = time.perf_counter() - started
    assert len(again.updated) == 1000 and again.created == []
    with engine.begin() as connection:  # three runs per shop, the newest succeeded; a cursor a minute old
        ids = connection.scalars(select(QloAppsConfig.id)).all()
        now = connection.scalar(select(func.now()))
        connection.execute(insert(QloAppsSyncState), [
            {"config_id": i, "kind": "incremental", "trigger": "schedule", "status": status,
             "started_at": now - timedelta(minutes=minutes), "finished_at": now}
            for i in ids for minutes, status in ((3, "failed"), (2, "succeeded"), (1, "succeeded"))])
        connection.execute(text("INSERT INTO qloapps_sync_cursor (config_id, last_successful_sync) "
                                "SELECT id, now() - interval '1 minute' FROM qloapps_config"))
        connection.execute(text("INSERT INTO qloapps_shop_gate (config_id, failures, open_until, last_error) "
                                "SELECT id, 3, now() + interval '1 minute', 'QloAppsTimeout: x' FROM qloapps_config "
                                "WHERE name IN ('shop-0007', 'shop-0501')"))
    started = time.perf_counter()
    with transaction(session_factory) as session:
        rows = shops.shop_status(session, sync_interval_ms=300_000)
    status_s = time.perf_counter() - started
    print(f"\n1000-row CSV import {imported_s:.2f} s, re-import (update) {reimported_s:.2f} s, "
          f"shop_status of 1000 shops with 3 runs each {status_s:.3f} s")
    assert len(rows) == 1000
    assert [r.name for r in rows[:2]] == ["shop-0007", "shop-0501"]
    assert shops.summarise(rows) == {"breaker_open": 2, "failing": 0, "overdue": 0, "ok": 988, "disabled": 10}


def test_every_way_of_loading_a_shop_says_unknown_shop_alike(session_factory, settings, secret_key):
    from qlosync.db import config_store
    from qlosync.sync.service import load_shop_config

    expected = ("QloApps shop 'nowhere' is not configured: run "
                "`qlosync config set --base-url URL --api-key-stdin`")
    with transaction(session_factory) as session:
        with pytest.raises(config_store.UnknownShopError) as by_store:
            config_store.load_shop(session, KeyCipher(secret_key), "nowhere")
        with pytest.raises(config_store.UnknownShopError) as by_row:
            config_store.get_config_row(session, "nowhere")
    with pytest.raises(config_store.UnknownShopError) as by_service:
        load_shop_config(settings, session_factory, "nowhere")
    assert [str(e.value) for e in (by_store, by_row, by_service)] == [expected] * 3


def test_the_one_writer_takes_the_limits_too_and_checks_them(session_factory, settings, secret_key):
    from qlosync.db.config_store import save_config
    from qlosync.fields import InvalidValueError

    cipher = KeyCipher(secret_key)
    with transaction(session_factory) as session:
        row = save_config(session, cipher, name="limited", base_url="http://limited.test", api_key=Secret(TEST_API_KEY),
                          sync_enabled=True, max_concurrent_requests=8, max_requests_per_second=2.5)
        assert (row.sync_enabled, row.max_concurrent_requests, row.max_requests_per_second) == (True, 8, 2.5)
        with pytest.raises(InvalidValueError, match="max concurrent requests must be from 1 to 64, got 65"):
            save_config(session, cipher, name="limited", max_concurrent_requests=65)
    with transaction(session_factory) as session:
        assert load_shop(session, cipher, "limited").max_concurrent_requests == 8
