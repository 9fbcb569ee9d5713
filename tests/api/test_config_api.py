"""Config over HTTP: the key goes in and never comes out; config/test says in words what is wrong."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from bench.processes import free_port
from qlosync.cli import cli
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.session import transaction
from tests.api.conftest import PREFIX
from tests.conftest import TEST_API_KEY
from tests.hotel_support import first_hotel

NEW_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"


def test_put_then_get_round_trip_never_echoes_the_key(api, engine, session_factory, secret_key, caplog):
    caplog.set_level(logging.DEBUG)
    # When a shop is created with a key, then changed without one
    created = api.put(f"{PREFIX}/config", json={"shop": "main", "base_url": "http://qlo.example.test/api/",
                                                "api_key": NEW_KEY, "hotel_id": 2, "sync_enabled": True})
    changed = api.put(f"{PREFIX}/config", json={"shop": "main", "conflict_strategy": "manual"})
    shown = api.get(f"{PREFIX}/config", params={"shop": "main"})
    # Then every answer has the settings, api_key_set, and no key
    assert created.status_code == changed.status_code == shown.status_code == 200, (created.text, changed.text)
    body = shown.json()
    assert body.pop("updated_at")
    # (id_hotel as everywhere; hotel_id, this answer's first spelling, stays for the clients that read it; no PMS
    # hotel set: the PMS's only one, the hotel it starts with, is the one the shop syncs with)
    assert body == {"name": "main", "base_url": "http://qlo.example.test", "api_key_set": True, "sync_enabled": True,
                    "id_hotel": 2, "hotel_id": 2, "pms_hotel_id": None,
                    "effective_pms_hotel_id": first_hotel(engine).id,
                    "conflict_strategy": "manual"}
    for response in (created, changed, shown):
        assert NEW_KEY not in response.text and "api_key\"" not in response.text
    # And the key is stored encrypted, readable with QLOSYNC_SECRET_KEY, and in no log line
    with transaction(session_factory) as session:
        assert load_shop(session, KeyCipher(secret_key), "main").api_key.reveal() == NEW_KEY
    assert NEW_KEY not in caplog.text
    assert "PUT /api/v1/qloapps/config" in caplog.text  # the access log did run through the captured logging


@pytest.mark.parametrize("body,where", [
    ({"shop": "main", "base_url": "http://x.test", "api_key": 12345}, "body.api_key"),
    ({"shop": "main", "base_url": "http://x.test", "api_key": NEW_KEY + "EXTRA"}, "body.api_key"),
    ({"shop": "main", "base_url": "http://x.test", "api_key": NEW_KEY[:-1] + " "}, "body.api_key"),
    ({"shop": "main", "base_url": "ftp://x.test", "api_key": NEW_KEY}, "body.base_url"),
    ({"shop": "main", "base_url": "http://", "api_key": NEW_KEY}, "body.base_url"),
    ({"shop": "main", "hotel_id": "3"}, "body.hotel_id"),
    ({"shop": "main", "hotel_id": 0}, "body.hotel_id"),
    ({"shop": "main", "hotel_id": 2**31}, "body.hotel_id"),
    ({"shop": "main", "sync_enabled": "yes"}, "body.sync_enabled"),
    ({"shop": "main", "conflict_strategy": "pms_sometimes"}, "body.conflict_strategy"),
    ({"shop": "main", "apikey": NEW_KEY}, "body.apikey"),
    ({"shop": "no spaces please"}, "body.shop"),
    ({"shop": ""}, "body.shop"),
    ({"shop": 7}, "body.shop"),
    ([NEW_KEY], "body"),
])
def test_bad_bodies_are_422_with_the_reason_and_without_the_input(api, body, where):
    response = api.put(f"{PREFIX}/config", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"].startswith(f"invalid request: {where}")
    assert [".".join(map(str, e["loc"])) for e in problem["errors"]][0] == where
    assert NEW_KEY not in response.text and "12345" not in response.text
    assert "input" not in problem["errors"][0]


def test_bad_json_is_422(api):
    response = api.put(f"{PREFIX}/config", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["detail"]


def test_unknown_shop_is_404_and_a_new_shop_needs_url_and_key(api):
    missing = api.get(f"{PREFIX}/config", params={"shop": "nowhere"})
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("QloApps shop 'nowhere' is not configured")
    incomplete = api.put(f"{PREFIX}/config", json={"shop": "nowhere", "base_url": "http://x.test"})
    assert incomplete.status_code == 400
    assert "needs both --base-url and the API key" in incomplete.json()["detail"]


def test_storing_a_key_without_the_secret_key_is_a_clear_400(start_api, api_settings):
    api = start_api(api_settings.with_(secret_key=None))
    response = api.put(f"{PREFIX}/config", json={"base_url": "http://x.test", "api_key": NEW_KEY})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("QLOSYNC_SECRET_KEY is not set")


def test_config_test_with_the_stored_good_key(api, shop, simulator):
    response = api.post(f"{PREFIX}/config/test", json={})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True and result["problem"] is None
    assert result["api_url"] == f"{simulator.base_url}/api/"
    assert result["hotels"] == [{"id": 1, "name": "The Hotel Prime"}]
    assert result["room_types"] == 4
    assert "bookings" in result["resources"]
    assert result["message"].startswith(f"connected to QloApps at {simulator.base_url}/api/")
    assert "hotel 1 has 4 room types" in result["message"]


def test_config_test_with_a_wrong_key(api, shop):
    wrong = "WRONGKEY0123456789ABCDEFGHIJKLMN"
    response = api.post(f"{PREFIX}/config/test", json={"api_key": wrong})
    result = response.json()
    assert response.status_code == 200 and result["ok"] is False
    assert result["problem"] == "key_refused"
    assert "refused the API key (HTTP 401)" in result["message"]
    assert wrong not in response.text and TEST_API_KEY not in response.text


def test_config_test_with_a_url_where_nothing_listens(api, shop):
    url = f"http://127.0.0.1:{free_port()}"
    # Another URL than the stored one is only tried with a key given with it (test_key_destination.py)
    result = api.post(f"{PREFIX}/config/test", json={"base_url": url, "api_key": TEST_API_KEY}).json()
    assert (result["ok"], result["problem"]) == (False, "cannot_connect")
    assert result["message"] == (f"cannot connect to {url}/api/: nothing answers there "
                                 "(wrong host or port, or the shop is down)")


def test_config_test_with_a_server_that_is_not_qloapps(api, shop, simulator):
    # The simulator answers 404 outside /api/: like a web site without the webservice
    result = api.post(f"{PREFIX}/config/test", json={"base_url": f"{simulator.base_url}/shop",
                                                     "api_key": TEST_API_KEY}).json()
    assert (result["ok"], result["problem"]) == (False, "not_qloapps")
    assert "answered, but not like a QloApps webservice (HTTP 404" in result["message"]


@pytest.mark.parametrize("withheld,says", [
    (("customers",), "QloApps accepted the API key, but the API key has no access to: customers"),
    (("hotel_rooms", "feature_prices"), "QloApps accepted the API key, but the key may not use: hotel_rooms, "
                                        "feature_prices (allow them for this key in QloApps under Advanced "
                                        "Parameters > Webservice)"),
])
def test_config_test_with_a_key_lacking_a_permission(api, shop, simulator, withheld, says):
    simulator.api.names = [name for name in simulator.api.names if name not in withheld]
    result = api.post(f"{PREFIX}/config/test", json={}).json()
    assert (result["ok"], result["problem"], result["message"]) == (False, "missing_permission", says)


def test_config_test_with_a_hotel_qloapps_does_not_have(api, shop):
    assert api.put(f"{PREFIX}/config", json={"hotel_id": 7}).status_code == 200
    result = api.post(f"{PREFIX}/config/test", json={}).json()
    assert (result["ok"], result["problem"]) == (False, "unknown_hotel")
    assert "QloApps has no hotel 7 (hotels: 1 (The Hotel Prime))" in result["message"]


def test_config_test_of_given_url_and_key_for_a_shop_not_stored(api, simulator):
    result = api.post(f"{PREFIX}/config/test", json={"shop": "new", "base_url": simulator.base_url,
                                                     "api_key": TEST_API_KEY}).json()
    assert result["ok"] is True, result
    assert api.get(f"{PREFIX}/config", params={"shop": "new"}).status_code == 404  # tested, not stored


def test_config_test_of_an_unknown_shop_is_404(api):
    assert api.post(f"{PREFIX}/config/test", json={"shop": "nowhere"}).status_code == 404


def test_qlosync_config_test_runs_the_same_check(api, shop, database_url, secret_key):
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal()}
    # The API server runs in this process: its threads' log lines can land in the CLI's captured stderr, so the
    # verdicts are read from stdout and from the error line.
    good = CliRunner().invoke(cli, ["config", "test"], env=env)
    assert good.exit_code == 0, good.output
    assert good.stdout.strip() == api.post(f"{PREFIX}/config/test", json={}).json()["message"]
    assert api.put(f"{PREFIX}/config", json={"api_key": NEW_KEY}).status_code == 200
    refused = CliRunner().invoke(cli, ["config", "test"], env=env)
    assert refused.exit_code == 1
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].startswith("Error: key_refused: "), refused.output
    assert "refused the API key (HTTP 401)" in errors[0]
    assert NEW_KEY not in refused.output


@pytest.mark.parametrize("spelling", ["id_hotel", "hotel_id"])
def test_the_hotel_id_is_id_hotel_and_the_old_spelling_still_works(api, shop, spelling):
    # id_hotel as in /api/v1/shops and the CSV; hotel_id, this body's old spelling, keeps clients written for it working
    assert api.put(f"{PREFIX}/config", json={spelling: 3}).status_code == 200
    shown = api.get(f"{PREFIX}/config").json()
    assert shown["id_hotel"] == shown["hotel_id"] == 3
