"""The issue's bad values over HTTP: PUT /config and POST /shops refuse each with a 422 that repeats
neither the key nor the URL's password and stores nothing, like `qlosync config set` and the CSV import
(tests/integration/test_field_validation.py); PUT /mappings/{id} refuses a room type the shop lacks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qlosync.db.models import QloAppsConfig, QloAppsRoomTypeMapping
from qlosync.db.session import transaction
from tests.api.conftest import PREFIX
from tests.conftest import TEST_API_KEY
from tests.field_cases import BAD_VALUES, PASSWORD, Bad, with_bad

CASES = [pytest.param(bad, id=bad.id) for bad in BAD_VALUES]


def _json(fields: dict[str, str]) -> dict[str, object]:
    # JSON carries the hotel id as a number; out of int64 too, as the tester sent it.
    return {**fields, "id_hotel": int(fields["id_hotel"])}


def _assert_refused(response, bad: Bad) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text[:2000]
    detail = response.json()["detail"]
    assert "\n" not in detail
    assert PASSWORD not in response.text and bad.value[:40] not in response.text or bad.field == "id_hotel"
    assert TEST_API_KEY not in response.text


def _stored(session_factory) -> int:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(QloAppsConfig)) or 0)


@pytest.mark.parametrize("bad", CASES)
def test_put_config_refuses_the_bad_value(bad: Bad, api, session_factory):
    body = _json(with_bad(bad, TEST_API_KEY))
    body = {"shop": body.pop("name"), "hotel_id": body.pop("id_hotel"), **body}
    _assert_refused(api.put(f"{PREFIX}/config", json=body), bad)
    assert _stored(session_factory) == 0


@pytest.mark.parametrize("bad", CASES)
def test_post_shops_refuses_the_bad_value(bad: Bad, api, session_factory):
    _assert_refused(api.post("/api/v1/shops", json=_json(with_bad(bad, TEST_API_KEY))), bad)
    assert _stored(session_factory) == 0


def test_link_local_refusal_names_the_setting_and_config_test_does_not_go_there(api):
    stored = api.put(f"{PREFIX}/config", json={"base_url": "http://169.254.169.254", "api_key": TEST_API_KEY})
    assert stored.status_code == 422
    assert "QLOSYNC_ALLOW_LINK_LOCAL_URLS=1" in stored.json()["detail"]
    tested = api.post(f"{PREFIX}/config/test", json={"base_url": "http://169.254.169.254/latest/meta-data",
                                                     "api_key": TEST_API_KEY})
    assert tested.status_code == 422 and "link-local or cloud metadata" in tested.json()["detail"]


def test_link_local_urls_are_stored_when_allowed(start_api, api_settings, session_factory):
    api = start_api(api_settings.with_(allow_link_local_urls=True))
    response = api.post("/api/v1/shops", json={"name": "meta", "base_url": "http://169.254.169.254",
                                               "api_key": TEST_API_KEY})
    assert response.status_code == 201, response.text
    assert response.json()["base_url"] == "http://169.254.169.254"


def test_put_mapping_refuses_a_room_type_the_shop_does_not_have(api, shop, mapped_catalog, session_factory):
    response = api.put(f"{PREFIX}/mappings/777", json={"pms_room_type": f"QLO-{shop.id}-1"})
    assert response.status_code == 409, response.text
    assert response.json()["detail"].startswith(
        "QloApps shop 'default' has no room type 777 in hotel 1 (its room types: 1, 2, 3, 4;")
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(QloAppsRoomTypeMapping)
                              .where(QloAppsRoomTypeMapping.qloapps_room_type_id == 777)) == 0


def test_put_mapping_while_qloapps_is_unreachable_trusts_only_room_types_already_mapped(api, shop, mapped_catalog,
                                                                                        session_factory, secret_key):
    from qlosync.crypto import KeyCipher
    from qlosync.db.config_store import save_config
    from qlosync.secrets import Secret

    with transaction(session_factory) as session:
        save_config(session, KeyCipher(secret_key), base_url="http://127.0.0.1:9",  # nothing listens there
                    api_key=Secret(TEST_API_KEY))
    known = api.put(f"{PREFIX}/mappings/1", json={"pms_room_type": f"QLO-{shop.id}-1"})
    assert known.status_code == 200, known.text
    assert known.json()["mapping"]["pms_room_type"]["code"] == f"QLO-{shop.id}-1"
    unknown = api.put(f"{PREFIX}/mappings/777", json={"pms_room_type": f"QLO-{shop.id}-1"})
    assert unknown.status_code == 409, unknown.text
    assert unknown.json()["detail"].startswith("cannot check that QloApps shop 'default' has room type 777")
