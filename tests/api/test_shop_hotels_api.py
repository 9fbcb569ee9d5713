"""A shop's PMS hotel over HTTP (issue 20 item 4): POST/PATCH /api/v1/shops and PUT /config take
`pms_hotel_id` (text; null clears it), refuse an id the PMS has no hotel with (422 naming its hotels), and
every answer says the hotel set and the one the shop does sync with; the CSV import takes the column too."""

from __future__ import annotations

from sqlalchemy import select

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.models import QloAppsConfig
from qlosync.db.session import transaction
from tests.api.conftest import PREFIX
from tests.conftest import TEST_API_KEY
from tests.hotel_support import first_hotel, one_hotel, second_hotel

SHOPS = "/api/v1/shops"


def _hotels(body: dict[str, object]) -> tuple[object, object]:
    return body["pms_hotel_id"], body["effective_pms_hotel_id"]


def _stored(session_factory, secret_key, name: str) -> str | None:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return load_shop(session, KeyCipher(secret_key), name).pms_hotel_id


def _unknown(engine, hotel: str, b: str) -> str:  # type: ignore[no-untyped-def]
    return (f"the PMS has no hotel {hotel!r} (its hotels: {one_hotel(engine)}, {b} (B)); the PMS hotel must be "
            "one of these ids")


def test_shops_take_a_pms_hotel_refuse_an_unknown_one_and_clear_it_with_null(api, engine, session_factory,
                                                                            secret_key):
    # One hotel: none needs setting, and the answer says which one is used
    solo = api.post(SHOPS, json={"name": "solo", "base_url": "http://solo.test", "api_key": TEST_API_KEY})
    a = first_hotel(engine).id
    assert solo.status_code == 201 and _hotels(solo.json()) == (None, a), solo.text
    b = second_hotel(engine)
    created = api.post(SHOPS, json={"name": "hotel-b", "base_url": "http://b.test", "api_key": TEST_API_KEY,
                                    "pms_hotel_id": b})
    assert created.status_code == 201 and _hotels(created.json()) == (b, b), created.text
    assert _hotels(api.get(f"{SHOPS}/hotel-b").json()) == (b, b)
    # With two hotels, the shop that names none has no hotel to sync with
    listed = {s["name"]: _hotels(s) for s in api.get(SHOPS).json()["shops"]}
    assert listed == {"solo": (None, None), "hotel-b": (b, b)}
    # An unknown hotel: 422 naming the hotels, nothing created or changed
    refused = api.post(SHOPS, json={"name": "hotel-x", "base_url": "http://x.test", "api_key": TEST_API_KEY,
                                    "pms_hotel_id": "999"})
    assert (refused.status_code, refused.json()) == (422, {"detail": _unknown(engine, "999", b)})
    patched = api.request("PATCH", f"{SHOPS}/hotel-b", json={"pms_hotel_id": "999", "enabled": False})
    assert (patched.status_code, patched.json()) == (422, {"detail": _unknown(engine, "999", b)})
    with transaction(session_factory) as session:
        assert sorted(session.scalars(select(QloAppsConfig.name))) == ["hotel-b", "solo"]
    assert api.get(f"{SHOPS}/hotel-b").json()["enabled"] is True
    # Ids are text: a number is a malformed body, as for every strict field
    number = api.request("PATCH", f"{SHOPS}/hotel-b", json={"pms_hotel_id": 7})
    assert number.status_code == 422 and number.json()["errors"][0]["loc"] == ["body", "pms_hotel_id"]
    # Left out: unchanged; null: cleared
    other = api.request("PATCH", f"{SHOPS}/hotel-b", json={"max_requests_per_second": 3})
    assert other.status_code == 200 and _hotels(other.json()) == (b, b)
    moved = api.request("PATCH", f"{SHOPS}/solo", json={"pms_hotel_id": a})
    assert moved.status_code == 200 and _hotels(moved.json()) == (a, a)
    cleared = api.request("PATCH", f"{SHOPS}/hotel-b", json={"pms_hotel_id": None})
    assert cleared.status_code == 200 and _hotels(cleared.json()) == (None, None), cleared.text
    assert _stored(session_factory, secret_key, "hotel-b") is None


def test_config_takes_a_pms_hotel_refuses_an_unknown_one_and_clears_it_with_null(api, engine, session_factory,
                                                                                secret_key):
    b = second_hotel(engine)
    created = api.put(f"{PREFIX}/config", json={"shop": "main", "base_url": "http://qlo.example.test",
                                                "api_key": TEST_API_KEY, "pms_hotel_id": b})
    assert created.status_code == 200 and _hotels(created.json()) == (b, b), created.text
    shown = api.get(f"{PREFIX}/config", params={"shop": "main"})
    assert _hotels(shown.json()) == (b, b)
    refused = api.put(f"{PREFIX}/config", json={"shop": "main", "pms_hotel_id": "nine", "sync_enabled": True})
    assert (refused.status_code, refused.json()) == (422, {"detail": _unknown(engine, "nine", b)})
    new = api.put(f"{PREFIX}/config", json={"shop": "new", "base_url": "http://new.test", "api_key": TEST_API_KEY,
                                            "pms_hotel_id": "nine"})
    assert new.status_code == 422
    with transaction(session_factory) as session:
        assert list(session.scalars(select(QloAppsConfig.name))) == ["main"]
    assert api.get(f"{PREFIX}/config", params={"shop": "main"}).json()["sync_enabled"] is False
    kept = api.put(f"{PREFIX}/config", json={"shop": "main", "conflict_strategy": "manual"})
    assert kept.status_code == 200 and _hotels(kept.json()) == (b, b)
    cleared = api.put(f"{PREFIX}/config", json={"shop": "main", "pms_hotel_id": None})
    assert cleared.status_code == 200 and _hotels(cleared.json()) == (None, None), cleared.text
    assert _stored(session_factory, secret_key, "main") is None


def test_csv_import_takes_the_pms_hotel_id_column(api, engine, session_factory, secret_key):
    b = second_hotel(engine)
    headers = {"Content-Type": "text/csv"}
    bad = f"name,base_url,api_key,pms_hotel_id\none,http://one.test,{TEST_API_KEY},{b}\ntwo,http://two.test," \
          f"{TEST_API_KEY},77\n"
    refused = api.post(f"{SHOPS}/import", data=bad.encode(), headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"] == [f"line 3: {_unknown(engine, '77', b)}"]
    good = f"name,base_url,api_key,pms_hotel_id\none,http://one.test,{TEST_API_KEY},{b}\ntwo,http://two.test," \
           f"{TEST_API_KEY},\n"
    done = api.post(f"{SHOPS}/import", data=good.encode(), headers=headers)
    assert done.status_code == 200 and done.json()["created"] == ["one", "two"], done.text
    assert (_stored(session_factory, secret_key, "one"), _stored(session_factory, secret_key, "two")) == (b, None)


def test_the_openapi_document_describes_the_pms_hotel(api):
    schemas = api.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for model in ("ShopCreate", "ShopUpdate", "ShopConfigUpdate"):
        field = schemas[model]["properties"]["pms_hotel_id"]
        assert "PMS hotel" in field["description"] and "422" in field["description"], (model, field)
    for model in ("ShopStatusRow", "ShopConfigView"):
        properties = schemas[model]["properties"]
        assert "only hotel" in properties["pms_hotel_id"]["description"], model
        assert "only hotel" in properties["effective_pms_hotel_id"]["description"], model
