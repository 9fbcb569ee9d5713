"""/api/v1/shops: list (attention first), add (201/409/422), get (404), patch, delete, CSV import (422 with
every bad line), breaker reset; the API key goes in and never comes out."""

from __future__ import annotations

import logging

from sqlalchemy import insert, select, text

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.models import QloAppsConfig, QloAppsShopGate, QloAppsSyncCursor, QloAppsSyncState
from qlosync.db.session import transaction
from tests.conftest import TEST_API_KEY

SHOPS = "/api/v1/shops"
NEW_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
KEYS = (TEST_API_KEY, NEW_KEY)


def _no_key(*responses) -> None:  # type: ignore[no-untyped-def]
    for response in responses:
        assert not any(key in response.text for key in KEYS), response.text
        assert '"api_key"' not in response.text, response.text


def _add(api, shop: str, **fields):  # type: ignore[no-untyped-def]
    return api.post(SHOPS, json={"name": shop, "base_url": f"http://{shop}.test", "api_key": TEST_API_KEY, **fields})


def _config_id(engine, name: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.scalar(select(QloAppsConfig.id).where(QloAppsConfig.name == name))


def test_add_get_patch_delete_and_the_key_never_comes_back(api, session_factory, secret_key, caplog):
    caplog.set_level(logging.DEBUG)
    created = _add(api, "hotel-a", max_concurrent_requests=2, max_requests_per_second=7.5, id_hotel=4)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["enabled"], body["state"], body["api_key_set"], body["max_concurrent_requests"],
            body["max_requests_per_second"], body["id_hotel"], body["base_url"]) == \
        ("hotel-a", True, "ok", True, 2, 7.5, 4, "http://hotel-a.test")  # just added: not overdue yet
    shown = api.get(f"{SHOPS}/hotel-a")
    assert shown.status_code == 200 and shown.json() == body
    patched = api.request("PATCH", f"{SHOPS}/hotel-a", json={"enabled": False, "api_key": NEW_KEY,
                                                             "max_requests_per_second": 3})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["enabled"], patched.json()["state"], patched.json()["max_requests_per_second"]) == \
        (False, "disabled", 3.0)
    with transaction(session_factory) as session:
        assert load_shop(session, KeyCipher(secret_key), "hotel-a").api_key.reveal() == NEW_KEY
    listed = api.get(SHOPS)
    assert listed.status_code == 200 and [s["name"] for s in listed.json()["shops"]] == ["hotel-a"]
    removed = api.request("DELETE", f"{SHOPS}/hotel-a")
    assert removed.status_code == 200
    assert removed.json() == {"name": "hotel-a", "reservation_mappings": 0, "room_type_mappings": 0, "runs": 0,
                              "sync_log_entries": 0}
    gone = api.get(f"{SHOPS}/hotel-a")
    assert gone.status_code == 404 and gone.json()["detail"].startswith("QloApps shop 'hotel-a' is not configured")
    _no_key(created, shown, patched, listed, removed, gone)
    assert not any(key in caplog.text for key in KEYS)


def test_duplicates_are_409_and_bad_settings_422_without_the_key(api):
    assert _add(api, "hotel-a").status_code == 201
    duplicate = _add(api, "hotel-a")
    assert duplicate.status_code == 409
    assert duplicate.json() == {"detail": "QloApps shop 'hotel-a' already exists (change it with `qlosync shops set`)"}
    for fields, where in (({"max_concurrent_requests": 0}, "body.max_concurrent_requests"),
                          ({"max_concurrent_requests": 65}, "body.max_concurrent_requests"),
                          ({"max_requests_per_second": 0}, "body.max_requests_per_second"),
                          ({"max_requests_per_second": 1001}, "body.max_requests_per_second"),
                          ({"api_key": "short-key-12"}, "body.api_key"),
                          ({"name": "no spaces"}, "body.name"),
                          ({"colour": "red"}, "body.colour")):
        bad = _add(api, "hotel-b", **fields)
        assert bad.status_code == 422, (fields, bad.text)
        assert bad.json()["detail"].startswith(f"invalid request: {where}"), bad.text
        assert "short-key-12" not in bad.text
    patched = api.request("PATCH", f"{SHOPS}/hotel-a", json={"max_concurrent_requests": 100})
    assert patched.status_code == 422
    unknown = api.request("PATCH", f"{SHOPS}/nowhere", json={"enabled": True})
    assert unknown.status_code == 404
    assert api.request("DELETE", f"{SHOPS}/nowhere").status_code == 404
    assert api.post(f"{SHOPS}/nowhere/breaker/reset").status_code == 404
    assert [s["name"] for s in api.get(SHOPS).json()["shops"]] == ["hotel-a"]
    _no_key(duplicate, patched)


def test_csv_import_lists_every_bad_line_and_dry_runs(api, session_factory):
    headers = {"Content-Type": "text/csv"}
    bad = api.post(f"{SHOPS}/import", headers=headers, data=(
        "name,base_url,api_key,enabled\n"
        f"one,http://one.test,{TEST_API_KEY},true\n"
        f"two,http://two.test,{TEST_API_KEY}XYZ,perhaps\n"
        f"one,http://one.test,{TEST_API_KEY},\n").encode())
    assert bad.status_code == 422, bad.text
    assert bad.json() == {"detail": "3 error(s) in the CSV; nothing was imported", "errors": [
        "line 3: enabled must be true/false, 1/0 or yes/no",
        "line 3: a QloApps API key has 32 characters; this one has 35",
        "line 4: shop 'one' is already on line 2"]}
    good = f"name,base_url,api_key,max_concurrent_requests\none,http://one.test,{TEST_API_KEY},8\n".encode()
    dry = api.post(f"{SHOPS}/import", headers=headers, params={"dry_run": "true"}, data=good)
    assert dry.json() == {"created": ["one"], "updated": [], "dry_run": True}
    with transaction(session_factory) as session:
        assert session.scalar(select(QloAppsConfig.id)) is None
    done = api.post(f"{SHOPS}/import", headers=headers, data=good)
    assert (done.status_code, done.json()) == (200, {"created": ["one"], "updated": [], "dry_run": False})
    assert api.get(f"{SHOPS}/one").json()["max_concurrent_requests"] == 8
    _no_key(bad, dry, done)


def test_the_list_puts_attention_first_filters_and_resets_a_breaker(api, engine):
    for name in ("a-off", "b-ok", "c-never", "d-failing", "e-breaker"):
        assert _add(api, name, enabled=name != "a-off").status_code == 201
    ids = {name: _config_id(engine, name) for name in ("b-ok", "d-failing", "e-breaker")}
    with engine.begin() as connection:
        # Never synced in the day since it was configured: overdue
        connection.execute(text("UPDATE qloapps_config SET created_at = now() - interval '1 day' "
                                "WHERE name = 'c-never'"))
        for name in ("b-ok", "d-failing", "e-breaker"):
            connection.execute(insert(QloAppsSyncCursor).values(
                config_id=ids[name], last_successful_sync=text("now() - interval '1 minute'")))
        connection.execute(insert(QloAppsSyncState).values(config_id=ids["d-failing"], kind="incremental",
                                                           trigger="schedule", status="failed", error="boom"))
        connection.execute(insert(QloAppsShopGate).values(
            config_id=ids["e-breaker"], failures=3, open_until=text("now() + interval '1 minute'"),
            last_error="QloAppsConnectionError: refused"))
    listed = api.get(SHOPS).json()
    assert [(s["name"], s["state"]) for s in listed["shops"]] == [
        ("e-breaker", "breaker_open"), ("d-failing", "failing"), ("c-never", "overdue"), ("b-ok", "ok"),
        ("a-off", "disabled")]
    assert listed["summary"] == {"breaker_open": 1, "failing": 1, "overdue": 1, "ok": 1, "disabled": 1}
    attention = api.get(SHOPS, params={"attention": "true"}).json()
    assert [s["name"] for s in attention["shops"]] == ["e-breaker", "d-failing", "c-never"]
    reset = api.post(f"{SHOPS}/e-breaker/breaker/reset")
    assert reset.json() == {"name": "e-breaker", "was_open": True}
    assert api.get(f"{SHOPS}/e-breaker").json()["state"] == "ok"
    assert api.post(f"{SHOPS}/e-breaker/breaker/reset").json()["was_open"] is False
    assert api.get(SHOPS, token=False).status_code == 401
    _no_key(api.get(SHOPS))
